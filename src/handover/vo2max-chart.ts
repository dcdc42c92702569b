/**
 * A small inline SVG line chart of VO2max over the stay, for the Frisklivssentral's printed page:
 * time on the x axis (spaced by date, not by test number), mL/kg/min on the y axis, each test a
 * labelled point. Pure: the same measurements always give the same markup.
 */
import { escapeXml, formatDateNo, formatNumberNo, osloCalendarDate } from '../../mappings/common.ts';
import type { Measurement } from './fitness-results.ts';

const WIDTH = 640;
const HEIGHT = 230;
const PAD = { left: 52, right: 24, top: 40, bottom: 40 };

export function vo2maxChartSvg(points: readonly Measurement[]): string {
  if (points.length < 2) return '';
  const times = points.map((p) => Date.parse(p.at));
  const values = points.map((p) => p.value);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  // Whole mL/kg/min around the values, with room for the labels above the points.
  const low = Math.floor(Math.min(...values) - 2);
  const high = Math.ceil(Math.max(...values) + 2);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (t: number): number => PAD.left + (t1 === t0 ? plotW / 2 : ((t - t0) / (t1 - t0)) * plotW);
  const y = (v: number): number => PAD.top + plotH - ((v - low) / (high - low)) * plotH;
  const f = (n: number): string => n.toFixed(1);

  const step = niceStep(high - low);
  const ticks: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high; v += step) ticks.push(v);
  const grid = ticks
    .map(
      (v) =>
        `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#d5dbe3" stroke-width="1"/>` +
        `<text x="${PAD.left - 8}" y="${f(y(v) + 4)}" text-anchor="end" font-size="11" fill="#5a6777">${escapeXml(formatNumberNo(v))}</text>`,
    )
    .join('');
  const line = points.map((p, i) => `${f(x(times[i] ?? 0))},${f(y(p.value))}`).join(' ');
  const dots = points
    .map((p, i) => {
      const cx = x(times[i] ?? 0);
      const cy = y(p.value);
      const anchor = i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle';
      return (
        `<circle cx="${f(cx)}" cy="${f(cy)}" r="5" fill="#0b6e4f"/>` +
        `<text x="${f(cx)}" y="${f(cy - 10)}" text-anchor="${anchor}" font-size="13" font-weight="bold" fill="#1d2733">${escapeXml(formatNumberNo(p.value))}</text>` +
        `<text x="${f(cx)}" y="${HEIGHT - PAD.bottom + 18}" text-anchor="${anchor}" font-size="11" fill="#5a6777">${escapeXml(formatDateNo(osloCalendarDate(p.at)))}</text>`
      );
    })
    .join('');
  const first = points[0];
  const last = points[points.length - 1];
  const label =
    first === undefined || last === undefined
      ? 'VO2maks over oppholdet'
      : `VO2maks fra ${formatNumberNo(first.value)} til ${formatNumberNo(last.value)} mL/kg/min`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="${escapeXml(label)}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" style="max-width:${WIDTH}px">` +
    `<title>${escapeXml(label)}</title>${grid}` +
    `<text x="${PAD.left}" y="${PAD.top - 10}" text-anchor="start" font-size="11" fill="#5a6777">VO2maks, mL/kg/min</text>` +
    `<polyline points="${line}" fill="none" stroke="#0b6e4f" stroke-width="3" stroke-linejoin="round"/>${dots}</svg>`
  );
}

/** 1, 2 or 5 × a power of ten, giving at most seven grid lines. */
function niceStep(span: number): number {
  for (const step of [1, 2, 5, 10, 20, 50]) if (span / step <= 6) return step;
  return 100;
}
