/**
 * The Frisklivssentral sections as blocks of plain text (headings, paragraphs, tables, key
 * figures), read back from the XHTML this module's sibling writes. The XHTML is ours and its
 * vocabulary small (h3, p, b, table, div.key), so the Notat's plain text and the PDF say exactly
 * what the FHIR document and the HTML page say, without a second copy of every sentence.
 * Pure: no clock, no I/O.
 */
import { XMLParser } from 'fast-xml-parser';
import type { Section } from './frisklivssentral-sections.ts';

export type Block =
  | { readonly kind: 'heading'; readonly text: string }
  | { readonly kind: 'paragraph'; readonly text: string; readonly note: boolean }
  /** header: the column titles of a grid; absent for a label → value table. */
  | { readonly kind: 'table'; readonly header?: readonly string[]; readonly rows: readonly (readonly string[])[] }
  | {
      readonly kind: 'figures';
      readonly items: readonly { readonly label: string; readonly value: string; readonly detail: string }[];
    };

export interface SectionBlocks {
  readonly key: string;
  readonly title: string;
  readonly blocks: readonly Block[];
}

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  processEntities: true,
});

export function sectionBlocks(section: Pick<Section, 'title' | 'xhtml'> & { readonly key: string }): SectionBlocks {
  const nodes = parser.parse(`<root>${section.xhtml}</root>`) as Node[];
  const root = nodes[0]?.root as Node[] | undefined;
  return { key: section.key, title: section.title, blocks: (root ?? []).flatMap(blockOf) };
}

function tagOf(node: Node): string {
  return Object.keys(node).find((key) => key !== ':@') ?? '';
}

function childrenOf(node: Node): Node[] {
  return (node[tagOf(node)] as Node[] | undefined) ?? [];
}

/** Every piece of text under a node, in order, with runs of white space made one space. */
function textOf(nodes: readonly Node[]): string {
  const parts: string[] = [];
  const walk = (list: readonly Node[]): void => {
    for (const node of list) {
      const tag = tagOf(node);
      if (tag === '#text') parts.push(decodeCharacterReferences(String(node['#text'])));
      else walk(childrenOf(node));
    }
  };
  walk(nodes);
  return parts.join('').replace(/\s+/gu, ' ').trim();
}

/**
 * The parser decodes the named XML entities; escapeXml writes numeric character references
 * ("&#60;"), which XML defines as the character itself, so they are decoded here, once.
 */
function decodeCharacterReferences(text: string): string {
  return text.replace(/&#(x[0-9a-fA-F]+|\d+);/gu, (_, code: string) =>
    String.fromCodePoint(code.startsWith('x') ? parseInt(code.slice(1), 16) : Number(code)),
  );
}

function blockOf(node: Node): Block[] {
  const tag = tagOf(node);
  const children = childrenOf(node);
  switch (tag) {
    case 'h3':
      return [{ kind: 'heading', text: textOf(children) }];
    case 'p':
      return [{ kind: 'paragraph', text: textOf(children), note: node[':@']?.class === 'note' }];
    case 'table':
      return [tableOf(children)];
    case 'div':
      return [
        {
          kind: 'figures',
          items: children.map((card) => {
            const spans = childrenOf(card).map((span) => textOf(childrenOf(span)));
            return { label: spans[0] ?? '', value: spans[1] ?? '', detail: spans[2] ?? '' };
          }),
        },
      ];
    case '#text':
      return textOf([node]) === '' ? [] : [{ kind: 'paragraph', text: textOf([node]), note: false }];
    default:
      return children.flatMap(blockOf);
  }
}

function tableOf(children: readonly Node[]): Block {
  const rowsOf = (list: readonly Node[]): string[][] =>
    list.filter((n) => tagOf(n) === 'tr').map((tr) => childrenOf(tr).map((cell) => textOf(childrenOf(cell))));
  const head = children.find((n) => tagOf(n) === 'thead');
  const body = children.find((n) => tagOf(n) === 'tbody');
  const rows = body === undefined ? rowsOf(children) : rowsOf(childrenOf(body));
  const header = head === undefined ? undefined : rowsOf(childrenOf(head))[0];
  return header === undefined ? { kind: 'table', rows } : { kind: 'table', header, rows };
}
