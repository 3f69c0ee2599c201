// The metric names a PromQL expression selects, with the jobs its `job` matcher names: enough of
// PromQL's lexical structure to tell a metric name from a function, an aggregation, a keyword, a
// label name in a grouping, a number, a duration or a Grafana variable.

export interface MetricSelector {
  readonly name: string;
  /** The jobs a `job="x"` or `job=~"x|y"` matcher on this selector allows; undefined when it has none. */
  readonly jobs: readonly string[] | undefined;
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
/** Followed by a parenthesised list of label names, not of expressions. */
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/** The index just past the string literal that starts at `start`. */
function endOfString(expr: string, start: number): number {
  const quote = expr[start];
  let at = start + 1;
  while (at < expr.length && expr[at] !== quote) at += expr[at] === '\\' ? 2 : 1;
  return at + 1;
}

/** The index just past the `}` closing the label matchers that start at `start`. */
function endOfMatchers(expr: string, start: number): number {
  let at = start + 1;
  while (at < expr.length && expr[at] !== '}') {
    at = expr[at] === '"' || expr[at] === "'" || expr[at] === '`' ? endOfString(expr, at) : at + 1;
  }
  return at + 1;
}

function jobsIn(matchers: string): string[] | undefined {
  const match = /(?:^|[{,\s])job\s*(=~|=)\s*"([^"]*)"/.exec(matchers);
  if (!match) return undefined;
  if (match[1] === '=') return [match[2]!];
  if (!/^[\w|.-]+$/.test(match[2]!)) throw new Error(`job matcher too clever to check: ${match[2]}`);
  return match[2]!.split('|');
}

export function metricSelectors(expr: string): MetricSelector[] {
  const found: MetricSelector[] = [];
  let at = 0;
  while (at < expr.length) {
    const c = expr[at]!;
    const rest = expr.slice(at);
    if (c === '"' || c === "'" || c === '`') {
      at = endOfString(expr, at);
    } else if (c === '{') {
      at = endOfMatchers(expr, at); // a selector without a name: none of ours
    } else if (c === '[') {
      at = expr.indexOf(']', at) + 1; // a range or subquery, with its durations and variables
    } else if (c === '$') {
      at += /^\$(\{[^}]*\}|\w+)/.exec(rest)?.[0].length ?? 1;
    } else if (/[0-9.]/.test(c)) {
      at += /^[0-9.]+(?:e[+-]?\d+)?[a-z]*/i.exec(rest)![0].length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest)![0];
      at += word.length;
      let next = at;
      while (next < expr.length && /\s/.test(expr[next]!)) next += 1;
      if (GROUPING.has(word)) {
        if (expr[next] === '(') at = expr.indexOf(')', next) + 1;
      } else if (AGGREGATIONS.has(word) || KEYWORDS.has(word.toLowerCase()) || expr[next] === '(') {
        // an aggregation, a keyword or a function call: its arguments are read on
      } else if (expr[next] === '{') {
        const end = endOfMatchers(expr, next);
        found.push({ name: word, jobs: jobsIn(expr.slice(next, end)) });
        at = end;
      } else {
        found.push({ name: word, jobs: undefined });
      }
    } else {
      at += 1;
    }
  }
  return found;
}
