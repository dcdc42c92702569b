/**
 * The printable plan as a PDF, rendered in process with pdfkit (no browser in the service): the
 * same header, sections, tables and VO2max chart as the HTML page, A4. Text is set in the PDF
 * standard font Helvetica, whose WinAnsi encoding has the Norwegian letters (æ ø å Æ Ø Å); the
 * few characters it lacks are written as their nearest ASCII (see PLAIN).
 *
 * Deterministic: the document's dates come from the input, so one handover gives the same bytes
 * on every redelivery. Pure apart from pdfkit's in-memory stream.
 */
import { formatDateNo, formatNumberNo, osloCalendarDate } from '../../../mappings/common.ts';
import type { Measurement } from '../fitness-results.ts';
import type { Block, SectionBlocks } from '../section-blocks.ts';

export interface PlanPdfInput {
  readonly kicker: string;
  readonly title: string;
  readonly meta: readonly (readonly [string, string])[];
  readonly sections: readonly SectionBlocks[];
  /** A VO2max chart drawn at the top of the section with this key (two tests or more). */
  readonly chart?: { readonly sectionKey: string; readonly points: readonly Measurement[] };
  readonly footer: string;
  /** ISO 8601: the PDF's creation date (passed in: no clock here). */
  readonly createdAt: string;
}

const INK = '#1d2733';
const MUTED = '#5a6777';
const LINE = '#d5dbe3';
const ACCENT = '#0b6e4f';
const SOFT = '#eef6f2';
const MARGIN = 48;

/** Characters Helvetica's WinAnsi encoding lacks, each as the text a reader takes the same way. */
const PLAIN: Readonly<Record<string, string>> = { '−': '-', '→': '->', '≈': 'ca.', '\u202f': ' ', '\u00a0': ' ' };

function pdfText(text: string): string {
  return text.replace(/[−→≈\u202f\u00a0]/gu, (c) => PLAIN[c] ?? c);
}

export async function renderPlanPdf(input: PlanPdfInput): Promise<Uint8Array> {
  // pdfkit and its fonts take ~30 MB and 200 ms to load: only a service that renders a handover pays for them.
  const { default: PDFDocument } = await import('pdfkit');
  const created = new Date(input.createdAt);
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    info: { Title: pdfText(input.title), Creator: 'hit-bridge', Producer: 'hit-bridge', CreationDate: created },
    lang: 'nb',
    displayTitle: true,
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
  });
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on('end', () => {
      resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    doc.on('error', reject);
  });
  draw(doc, input);
  doc.end();
  return done;
}

type Doc = PDFKit.PDFDocument;

function width(doc: Doc): number {
  return doc.page.width - doc.page.margins.left - doc.page.margins.right;
}

function ensureRoom(doc: Doc, height: number): void {
  if (doc.y + height > doc.page.height - doc.page.margins.bottom) doc.addPage();
}

function draw(doc: Doc, input: PlanPdfInput): void {
  const left = doc.page.margins.left;
  doc.fillColor(ACCENT).font('Helvetica-Bold').fontSize(9).text(pdfText(input.kicker.toUpperCase()));
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(20).text(pdfText(input.title));
  doc.moveDown(0.2);
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor(MUTED)
    .text(pdfText(input.meta.map(([k, v]) => `${k}: ${v}`).join('    ')));
  doc.moveDown(0.3);
  doc
    .moveTo(left, doc.y)
    .lineTo(left + width(doc), doc.y)
    .lineWidth(2)
    .strokeColor(ACCENT)
    .stroke();
  doc.moveDown(0.6);

  for (const section of input.sections) {
    ensureRoom(doc, 60);
    doc.fillColor(ACCENT).font('Helvetica-Bold').fontSize(13).text(pdfText(section.title), left);
    doc
      .moveTo(left, doc.y)
      .lineTo(left + width(doc), doc.y)
      .lineWidth(0.5)
      .strokeColor(LINE)
      .stroke();
    doc.moveDown(0.3);
    if (input.chart !== undefined && input.chart.sectionKey === section.key) drawChart(doc, input.chart.points);
    for (const block of section.blocks) drawBlock(doc, block);
    doc.moveDown(0.5);
  }
  ensureRoom(doc, 40);
  doc.moveDown(0.5);
  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor(MUTED)
    .text(pdfText(input.footer), left, doc.y, { width: width(doc) });
}

function drawBlock(doc: Doc, block: Block): void {
  const left = doc.page.margins.left;
  switch (block.kind) {
    case 'heading':
      ensureRoom(doc, 40);
      doc.moveDown(0.3);
      doc.fillColor(INK).font('Helvetica-Bold').fontSize(11).text(pdfText(block.text), left);
      doc.moveDown(0.2);
      return;
    case 'paragraph':
      doc
        .fillColor(INK)
        .font(block.note ? 'Helvetica-Oblique' : 'Helvetica')
        .fontSize(10)
        .text(pdfText(block.text), left, doc.y, { width: width(doc) });
      doc.moveDown(0.3);
      return;
    case 'figures':
      drawTable(doc, undefined, [block.items.map((i) => `${i.label}\n${i.value}\n${i.detail}`)]);
      return;
    case 'table':
      drawTable(doc, block.header, block.rows);
      return;
  }
}

function drawTable(doc: Doc, header: readonly string[] | undefined, rows: readonly (readonly string[])[]): void {
  const left = doc.page.margins.left;
  const columns = Math.max(header?.length ?? 0, ...rows.map((r) => r.length), 1);
  const total = width(doc);
  // A label → value table gives the label a third, as the HTML page does.
  const widths =
    header === undefined && columns === 2
      ? [total * 0.34, total * 0.66]
      : Array.from({ length: columns }, () => total / columns);
  const pad = 4;
  const row = (cells: readonly string[], bold: boolean, fill?: string): void => {
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(9);
    const height =
      Math.max(...cells.map((c, i) => doc.heightOfString(pdfText(c), { width: (widths[i] ?? 0) - 2 * pad })), 10) +
      2 * pad;
    ensureRoom(doc, height);
    const top = doc.y;
    if (fill !== undefined) doc.rect(left, top, total, height).fill(fill);
    let x = left;
    cells.forEach((cell, i) => {
      const w = widths[i] ?? 0;
      doc
        .fillColor(bold || (header === undefined && i === 0) ? MUTED : INK)
        .text(pdfText(cell), x + pad, top + pad, { width: w - 2 * pad });
      x += w;
    });
    doc
      .moveTo(left, top + height)
      .lineTo(left + total, top + height)
      .lineWidth(0.5)
      .strokeColor(LINE)
      .stroke();
    doc.x = left;
    doc.y = top + height;
  };
  if (header !== undefined) row(header, true, SOFT);
  for (const cells of rows) row(cells, false);
  doc.moveDown(0.4);
}

/** The VO2max line chart: time spaced by date on x, mL/kg/min on y, each test a labelled point. */
function drawChart(doc: Doc, points: readonly Measurement[]): void {
  if (points.length < 2) return;
  const chartHeight = 150;
  ensureRoom(doc, chartHeight + 20);
  const left = doc.page.margins.left + 36;
  const right = doc.page.margins.left + width(doc) - 16;
  const top = doc.y + 18;
  const bottom = top + chartHeight - 40;
  const times = points.map((p) => Date.parse(p.at));
  const values = points.map((p) => p.value);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const low = Math.floor(Math.min(...values) - 2);
  const high = Math.ceil(Math.max(...values) + 2);
  const x = (t: number): number => left + (t1 === t0 ? (right - left) / 2 : ((t - t0) / (t1 - t0)) * (right - left));
  const y = (v: number): number => bottom - ((v - low) / (high - low)) * (bottom - top);

  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor(MUTED)
    .text('VO2maks, mL/kg/min', left, top - 16);
  const step = [1, 2, 5, 10, 20, 50].find((s) => (high - low) / s <= 6) ?? 100;
  for (let v = Math.ceil(low / step) * step; v <= high; v += step) {
    doc.moveTo(left, y(v)).lineTo(right, y(v)).lineWidth(0.5).strokeColor(LINE).stroke();
    doc.fillColor(MUTED).text(formatNumberNo(v), left - 34, y(v) - 4, { width: 28, align: 'right' });
  }
  points.forEach((p, i) => {
    const px = x(times[i] ?? 0);
    const py = y(p.value);
    if (i === 0) doc.moveTo(px, py);
    else doc.lineTo(px, py);
  });
  doc.lineWidth(2).strokeColor(ACCENT).stroke();
  points.forEach((p, i) => {
    const px = x(times[i] ?? 0);
    const py = y(p.value);
    const align = i === 0 ? 'left' : i === points.length - 1 ? 'right' : 'center';
    const boxX = align === 'left' ? px - 4 : align === 'right' ? px - 76 : px - 40;
    doc.circle(px, py, 3.5).fill(ACCENT);
    doc
      .font('Helvetica-Bold')
      .fontSize(9)
      .fillColor(INK)
      .text(formatNumberNo(p.value), boxX, py - 16, { width: 80, align });
    doc
      .font('Helvetica')
      .fontSize(8)
      .fillColor(MUTED)
      .text(formatDateNo(osloCalendarDate(p.at)), boxX, bottom + 6, { width: 80, align });
  });
  doc.x = doc.page.margins.left;
  doc.y = bottom + 24;
}
