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

/** Nanoseconds on a CPU of every thread of one process (/proc/<pid>/task/<tid>/schedstat); undefined when gone. */
async function processCpuNs(pid: number): Promise<number | undefined> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => undefined);
  if (tasks === undefined) return undefined;
  let total = 0;
  for (const task of tasks) {
    // A thread that ended between the listing and the read has left its time to the process.
    const stat = await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => undefined);
    if (stat !== undefined) total += Number(stat.split(' ')[0]);
  }
  return total;
}

/**
 * CPU seconds used so far by `pid`'s threads, to the nanosecond (schedstat), for runs too short for
 * the 10 ms ticks of treeCpuSeconds; falls back to treeCpuSeconds where schedstat is missing. Only
 * the process itself (a bench:check side has no workers), and only its live threads: measure with
 * the difference of two readings.
 */
export async function exactCpuSeconds(pid: number): Promise<number> {
  const ns = await processCpuNs(pid);
  return ns === undefined || Number.isNaN(ns) ? treeCpuSeconds(pid) : ns / 1e9;
}
