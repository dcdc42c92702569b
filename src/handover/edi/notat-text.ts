/**
 * The Notat's text: the same sections as the FHIR document and the printed plan, as plain
 * Norwegian text a caseworker reads in the municipality's record system (which shows
 * TekstNotatInnhold as text, not markup). Tables become "label: value" lines or rows joined by
 * " | " under their column titles. Pure.
 */
import type { Block, SectionBlocks } from '../section-blocks.ts';

export function notatText(sections: readonly SectionBlocks[], opening: string): string {
  return [opening, ...sections.map(sectionText)].join('\n\n');
}

function sectionText(section: SectionBlocks): string {
  return [section.title.toUpperCase(), ...section.blocks.map(blockText)].join('\n');
}

function blockText(block: Block): string {
  switch (block.kind) {
    case 'heading':
      return `\n${block.text}`;
    case 'paragraph':
      return block.text;
    case 'figures':
      return block.items.map((item) => `${item.label}: ${item.value} (${item.detail})`).join('\n');
    case 'table':
      if (block.header === undefined) {
        return block.rows.map((row) => (row.length === 2 ? `${row[0]}: ${row[1]}` : row.join(' | '))).join('\n');
      }
      return [block.header.join(' | '), ...block.rows.map((row) => row.join(' | '))].join('\n');
  }
}
