/** Plain-text output for people; `--json` output for scripts never passes through here. */

function cell(value: string): string {
  return value === '' ? '-' : value;
}

/** Columns padded to their widest cell, headers in capitals, two spaces between columns. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(cell))];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return (
    all
      .map((row) =>
        row
          .map((value, i) => (i === row.length - 1 ? value : value.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** "key  value" lines with the keys aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${key.padEnd(width)}  ${cell(value)}`).join('\n') + '\n';
}
