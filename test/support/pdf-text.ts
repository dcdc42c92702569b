/**
 * A PDF as a reader opens it: parsed by Mozilla's pdf.js (the viewer in Firefox), so a test
 * proves the bytes are a PDF with pages, and reads the text a person would see on them.
 */
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface PdfReading {
  readonly pages: number;
  /** Each page's text, its pieces joined by spaces. */
  readonly pageTexts: readonly string[];
  readonly text: string;
}

export async function readPdf(bytes: Uint8Array): Promise<PdfReading> {
  // verbosity 0: errors only (the text layer needs no font files, so their absence is no warning here).
  const loading = getDocument({ data: new Uint8Array(bytes), verbosity: 0 });
  const pdf = await loading.promise;
  try {
    const pageTexts: string[] = [];
    for (let n = 1; n <= pdf.numPages; n += 1) {
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      pageTexts.push(
        content.items
          .map((item) => ('str' in item ? item.str : ''))
          .join(' ')
          .replace(/\s+/gu, ' '),
      );
    }
    return { pages: pdf.numPages, pageTexts, text: pageTexts.join('\n') };
  } finally {
    await loading.destroy();
  }
}
