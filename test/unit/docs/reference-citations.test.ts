import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Whoever clones the repository must be able to follow every source a comment cites: code
// cites docs/reference/, never a document outside the repository, and every cited section exists.

const SCANNED = ['src', 'mappings', 'demo', 'bench', 'test', 'profiles', 'contracts', 'docs/adr'];
const THIS_FILE = join('test', 'unit', 'docs', 'reference-citations.test.ts');
const OUTSIDE_DOCUMENT = /REFERENCE\.md|fhir-terminology\.md|fitness-reference\.md|\.\.\/shared\b|shared\/domain/;
const REFERENCE_CITATION =
  /docs\/reference\/([\w-]+\.md)((?:\s*§\s*\d+(?:\.\d+)*(?:\s*(?:,|and)\s*§?\s*\d+(?:\.\d+)*)*)?)/g;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesUnder(path);
    return /\.(ts|json|ya?ml|md)$/.test(entry.name) ? [path] : [];
  });
}

function outsideCitations(text: string): string[] {
  return text.split('\n').filter((line) => OUTSIDE_DOCUMENT.test(line));
}

/** Citations of docs/reference/ whose file or § section does not exist. */
function brokenReferenceCitations(text: string, read: (file: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const match of text.matchAll(REFERENCE_CITATION)) {
    const [citation, file = '', sections = ''] = match;
    const doc = read(file);
    if (doc === undefined) {
      broken.push(citation);
      continue;
    }
    for (const section of sections.match(/\d+(?:\.\d+)*/g) ?? []) {
      if (!new RegExp(`^#+ §${section.replaceAll('.', '\\.')}(?![\\d.])`, 'm').test(doc))
        broken.push(`${citation} (§${section})`);
    }
  }
  return broken;
}

const readReference = (file: string): string | undefined => {
  const path = join('docs', 'reference', file);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
};

describe('sources cited in the repository', () => {
  const files = SCANNED.flatMap(filesUnder).filter((path) => path !== THIS_FILE);

  test('no file cites a document outside the repository', () => {
    const offending = files.flatMap((path) =>
      outsideCitations(readFileSync(path, 'utf8')).map((line) => `${path}: ${line.trim()}`),
    );
    expect(offending).toEqual([]);
  });

  test('every docs/reference citation names a file and sections that exist', () => {
    const broken = files.flatMap((path) =>
      brokenReferenceCitations(readFileSync(path, 'utf8'), readReference).map((citation) => `${path}: ${citation}`),
    );
    expect(broken).toEqual([]);
  });

  test('the checks bite: an outside citation and a missing section are found', () => {
    expect(outsideCitations('// see REFERENCE.md "Clinical facts"')).toHaveLength(1);
    // Put together at run time, so this sample is not itself a citation of the folder beside the repository.
    const outsideFolder = ['..', 'shared', 'domain', 'x.md'].join('/');
    expect(outsideCitations(`// see ${outsideFolder}`)).toHaveLength(1);
    expect(brokenReferenceCitations('// docs/reference/fitness.md §99', readReference)).toEqual([
      'docs/reference/fitness.md §99 (§99)',
    ]);
    expect(brokenReferenceCitations('// docs/reference/nowhere.md §1', readReference)).toHaveLength(1);
    expect(brokenReferenceCitations('// docs/reference/fitness.md §1 and §4', readReference)).toEqual([]);
  });
});
