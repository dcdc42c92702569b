/**
 * The printable page both packets are rendered into: self-contained HTML (inline CSS, no fonts,
 * scripts or images from elsewhere), A4 when printed. Every piece of text is escaped by the
 * callers with mappings/common.ts's escapeXml; this module adds only fixed markup.
 */
import { escapeXml } from '../../mappings/common.ts';

const STYLE = `
:root { --ink: #1d2733; --muted: #5a6777; --line: #d5dbe3; --accent: #0b6e4f; --soft: #eef6f2; --warn: #8a4b00; }
* { box-sizing: border-box; }
html { background: #f3f5f8; }
body { margin: 0 auto; max-width: 820px; padding: 32px 40px 48px; background: #fff; color: var(--ink);
  font: 15px/1.5 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 20px; }
header .kicker { color: var(--accent); font-weight: bold; letter-spacing: .04em; text-transform: uppercase; font-size: 12px; margin: 0; }
h1 { font-size: 26px; margin: 2px 0 8px; }
h2 { font-size: 18px; margin: 26px 0 8px; color: var(--accent); border-bottom: 1px solid var(--line); padding-bottom: 4px; break-after: avoid; }
h3 { font-size: 15px; margin: 16px 0 6px; }
p { margin: 6px 0; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 28px; color: var(--muted); font-size: 13px; margin: 0; padding: 0; list-style: none; }
.meta b { color: var(--ink); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 14px; break-inside: avoid; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
thead th { background: var(--soft); border-bottom: 2px solid var(--accent); }
tbody th, table:not(:has(thead)) th { width: 34%; font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.zone td { background: #fff1e8; font-weight: 600; }
.pause td { background: var(--soft); }
.key { display: flex; gap: 12px; flex-wrap: wrap; margin: 10px 0; }
.key div { flex: 1 1 160px; border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 4px; padding: 8px 12px; }
.key .big { font-size: 22px; font-weight: bold; display: block; }
.key .small { color: var(--muted); font-size: 12px; }
.chart { margin: 8px 0 4px; }
table.weeks th, table.weeks td { width: auto; text-align: center; }
table.weeks td.short { color: var(--warn); font-weight: bold; }
.note { border-left: 4px solid var(--warn); background: #fff8ee; padding: 8px 12px; margin: 10px 0; }
.summary { white-space: pre-line; }
footer { margin-top: 28px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
@page { size: A4; margin: 16mm 14mm; }
@media print {
  html { background: #fff; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-after: avoid; }
  section { break-inside: avoid-page; }
  a { color: inherit; text-decoration: none; }
}
`;

export interface PageParts {
  /** Small line above the title, e.g. "Til Frisklivssentralen". */
  readonly kicker: string;
  readonly title: string;
  /** Label → value pairs under the title. */
  readonly meta: readonly (readonly [string, string])[];
  /** Already-escaped HTML of the body. */
  readonly bodyHtml: string;
  readonly footer: string;
}

export function renderPage(parts: PageParts): string {
  const meta = parts.meta.map(([label, value]) => `<li><b>${escapeXml(label)}:</b> ${escapeXml(value)}</li>`).join('');
  return (
    `<!DOCTYPE html>\n<html lang="nb"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeXml(parts.title)}</title><style>${STYLE}</style></head><body>` +
    `<header><p class="kicker">${escapeXml(parts.kicker)}</p><h1>${escapeXml(parts.title)}</h1>` +
    `<ul class="meta">${meta}</ul></header>` +
    `<main>${parts.bodyHtml}</main>` +
    `<footer>${escapeXml(parts.footer)}</footer></body></html>\n`
  );
}
