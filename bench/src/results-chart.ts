import type { Ceilings, SideResult } from './results-summary.js';

// A horizontal bar chart of requests per second, written by hand as SVG (no dependency): one bar per
// side, the ceilings in grey, the peer in orange, this project in blue, wrong-secret load in red.

export interface ChartBar {
  label: string;
  value: number;
  kind: 'ours' | 'peer' | 'ceiling' | 'attack';
}

const COLOURS: Record<ChartBar['kind'], string> = {
  ours: '#2f6fb3',
  peer: '#e08a2b',
  ceiling: '#9a9a9a',
  attack: '#c23b3b',
};

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function chartBars(sides: readonly SideResult[], ceilings: Ceilings): ChartBar[] {
  const bars: ChartBar[] = [];
  for (const alg of ['RS256', 'ES256'] as const) {
    bars.push({
      label: `${alg} signing ceiling (node:crypto, 1 core)`,
      value: ceilings.signing[alg],
      kind: 'ceiling',
    });
    for (const side of sides.filter((s) => s.alg === alg)) {
      bars.push({
        label: side.label,
        value: side.non2xxExpected ? side.load.perSecond : side.load.okPerSecond,
        kind:
          side.kind === 'peer' || side.kind === 'peer-oauth2-server'
            ? 'peer'
            : side.kind === 'wrong-secret'
              ? 'attack'
              : side.kind === 'bare-signing'
                ? 'ceiling'
                : 'ours',
      });
    }
  }
  bars.push({
    label: 'bare node:http endpoint (does nothing)',
    value: ceilings.bareEndpoint,
    kind: 'ceiling',
  });
  bars.push({ label: 'bare express endpoint (does nothing)', value: ceilings.bareExpress, kind: 'ceiling' });
  for (const side of sides.filter((s) => s.alg === undefined && s.kind !== 'bare-endpoint')) {
    bars.push({
      label: side.label,
      value: side.non2xxExpected ? side.load.perSecond : side.load.okPerSecond,
      kind: side.kind === 'wrong-secret' ? 'attack' : 'ours',
    });
  }
  return bars;
}

export function renderChart(title: string, subtitle: string, bars: readonly ChartBar[]): string {
  const labelWidth = 380;
  const plotWidth = 460;
  const barHeight = 20;
  const gap = 8;
  const top = 64;
  const height = top + bars.length * (barHeight + gap) + 24;
  const width = labelWidth + plotWidth + 170;
  // The ES256 signing ceiling is ten times everything else: the scale follows the HTTP sides, and a
  // bar beyond it is cut (drawn to the edge with a break and its value).
  const httpValues = bars.filter((b) => !b.label.includes('signing ceiling')).map((b) => b.value);
  const max = Math.max(1, ...(httpValues.length > 0 ? httpValues : bars.map((b) => b.value))) * 1.1;
  const rows = bars.map((bar, i) => {
    const y = top + i * (barHeight + gap);
    const cut = bar.value > max;
    const w = cut ? plotWidth : Math.max(1, Math.round((bar.value / max) * plotWidth));
    const value = `${Math.round(bar.value).toLocaleString('en-US')}/s${cut ? ' (bar cut)' : ''}`;
    return [
      `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y}" width="${w}" height="${barHeight}" fill="${COLOURS[bar.kind]}"/>`,
      cut
        ? `<path d="M${labelWidth + w - 40},${y - 2} l6,${barHeight + 4} M${labelWidth + w - 32},${y - 2} l6,${barHeight + 4}" stroke="#ffffff" stroke-width="3"/>`
        : '',
      `<text x="${labelWidth + w + 6}" y="${y + 14}">${value}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="12" y="42" fill="#555">${escapeXml(subtitle)}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}
