/**
 * The timeline as a small self-contained SVG: one row per flow on a shared
 * time axis (seconds), a bar per phase, and each flow's "available" moment
 * marked with a line and its time. Written by hand (a few elements), so the
 * demo needs no drawing library.
 */
import type { FlowTimeline } from './timeline.js';

const WIDTH = 760;
const LEFT = 230;
const RIGHT = 30;
const TOP = 50;
const ROW = 70;
const BAR = 26;

const COLOURS: Readonly<Record<string, string>> = {
  copy: '#3b82f6',
  'wipe + delete source': '#f59e0b',
  'Image.move: copy + wipe + delete': '#9ca3af',
};

/** The SVG document of `flows` (the first row on top). */
export function timelineSvg(flows: readonly FlowTimeline[], caption: string): string {
  const end = Math.max(...flows.map((flow) => flow.done), 0.1);
  const scale = niceStep(end);
  const axisEnd = Math.ceil(end / scale) * scale;
  const x = (seconds: number): number => round(LEFT + ((WIDTH - LEFT - RIGHT) * seconds) / axisEnd);
  const height = TOP + ROW * flows.length + 50;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="13">`,
    `<title>${escape(caption)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="24" font-size="15" font-weight="bold">${escape(caption)}</text>`,
  ];
  flows.forEach((flow, index) => {
    const top = TOP + index * ROW;
    const middle = top + BAR / 2;
    parts.push(`<g class="flow" data-mode="${flow.mode}">`);
    // "name (how)" on two lines: one line of bold text does not fit left of the bars.
    const [name, how] = splitTitle(flow.title);
    parts.push(`<text x="10" y="${how ? middle - 3 : middle + 4}" font-weight="bold">${escape(name)}</text>`);
    if (how) parts.push(`<text x="10" y="${middle + 13}" font-size="12" fill="#4b5563">${escape(how)}</text>`);
    for (const segment of flow.segments) {
      const width = Math.max(1, x(segment.to) - x(segment.from));
      const colour = COLOURS[segment.label] ?? '#6b7280';
      parts.push(
        `<rect class="phase" x="${x(segment.from)}" y="${top}" width="${round(width)}" height="${BAR}" fill="${colour}"><title>${escape(segment.label)}: ${segment.from.toFixed(2)}–${segment.to.toFixed(2)} s</title></rect>`,
      );
      if (width > 8 * segment.label.length) {
        parts.push(`<text x="${x(segment.from) + 6}" y="${middle + 4}" fill="#ffffff">${escape(segment.label)}</text>`);
      }
    }
    const at = x(flow.available);
    parts.push(
      `<line class="available" x1="${at}" y1="${top - 6}" x2="${at}" y2="${top + BAR + 6}" stroke="#16a34a" stroke-width="3"/>`,
      `<text x="${at}" y="${top + BAR + 22}" text-anchor="middle" fill="#16a34a">available at ${flow.available.toFixed(1)} s</text>`,
      '</g>',
    );
  });
  const axisY = TOP + ROW * flows.length + 10;
  parts.push(`<line x1="${LEFT}" y1="${axisY}" x2="${x(axisEnd)}" y2="${axisY}" stroke="#111827"/>`);
  for (let tick = 0; tick <= axisEnd + scale / 2; tick += scale) {
    parts.push(
      `<line x1="${x(tick)}" y1="${axisY}" x2="${x(tick)}" y2="${axisY + 5}" stroke="#111827"/>`,
      `<text x="${x(tick)}" y="${axisY + 20}" text-anchor="middle">${formatTick(tick, scale)}</text>`,
    );
  }
  parts.push(`<text x="${x(axisEnd)}" y="${axisY + 38}" text-anchor="end">seconds</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}

/** A tick step of 1, 2 or 5 times a power of ten that gives 4 to 10 ticks. */
function niceStep(end: number): number {
  const raw = end / 6;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw);
  return step ?? 10 * power;
}

function formatTick(value: number, step: number): string {
  const decimals = step >= 1 ? 0 : Math.ceil(-Math.log10(step));
  return value.toFixed(decimals);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Text inside XML. */
function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** "engine-move (copy, then delete)" → ["engine-move", "copy, then delete"]. */
function splitTitle(title: string): [string, string | undefined] {
  const open = title.indexOf(' (');
  if (open < 0 || !title.endsWith(')')) return [title, undefined];
  return [title.slice(0, open), title.slice(open + 2, -1)];
}
