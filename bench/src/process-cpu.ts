import { readdir, readFile } from 'node:fs/promises';

// CPU time of a server process and its children (cluster workers), from /proc (Linux). Throughput
// on a shared machine moves with other people's load; CPU per request does much less, so the
// benchmark reports both.

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** utime + stime of one process in seconds, and its parent pid; undefined when it is gone. */
async function processTimes(pid: number): Promise<{ seconds: number; ppid: number } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { seconds: ticks / TICKS_PER_SECOND, ppid };
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by `pid` and its direct children; 0 where /proc is not available. */
export async function treeCpuSeconds(pid: number): Promise<number> {
  const own = await processTimes(pid);
  if (!own) return 0;
  let total = own.seconds;
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    const child = await processTimes(Number(entry));
    if (child?.ppid === pid) total += child.seconds;
  }
  return total;
}
