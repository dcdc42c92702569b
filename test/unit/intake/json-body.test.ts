import fc from 'fast-check';
import { bodyProblem, locateJsonSyntaxError } from '../../../src/intake/json-body.ts';
import { badRequest } from '../../../src/platform/problem.ts';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('where a body stops being JSON', () => {
  it.each([
    ['{"a": 1,}', { line: 1, column: 9, problem: 'expected a field name in double quotes' }],
    ['{"a" 1}', { line: 1, column: 6, problem: "expected ':' after the field name" }],
    ['{\n  "a": 1\n  "b": 2\n}', { line: 3, column: 3, problem: "expected ',' or '}' after a value" }],
    ['[1, 2', { line: 1, column: 6, problem: 'the body ends before the JSON is complete' }],
    ['{"a": "b', { line: 1, column: 9, problem: 'a string is not closed (a " is missing)' }],
    ['{"a": tru}', { line: 1, column: 7 }],
    ["{'a': 1}", { line: 1, column: 2, problem: 'expected a field name in double quotes' }],
    ['{"a": 01}', { line: 1, column: 8, problem: "expected ',' or '}' after a value" }],
    ['{"a": "x\\q"}', { line: 1, column: 9, problem: 'a backslash in a string starts an escape JSON does not have' }],
    ['{"a": "line\nbreak"}', { line: 1, column: 12 }],
    ['{} {}', { line: 1, column: 4, problem: 'expected the end of the body after the JSON value' }],
    ['', { line: 1, column: 1, problem: 'the body ends before the JSON is complete' }],
  ])('finds the error in %j', (text, expected) => {
    expect(parses(text)).toBe(false);
    expect(locateJsonSyntaxError(text)).toMatchObject(expected);
  });

  it('finds nothing wrong in any JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(locateJsonSyntaxError(text)).toBeUndefined();
      }),
    );
  });

  it('agrees with JSON.parse on JSON with one character changed, inserted or removed', () => {
    const edited = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('insert', 'replace', 'remove'),
        fc.constantFrom(
          '{',
          '}',
          '[',
          ']',
          ':',
          ',',
          '"',
          '\\',
          ' ',
          '-',
          '0',
          '.',
          'e',
          'E',
          't',
          'f',
          'n',
          'x',
          '\n',
        ),
      )
      .map(([text, at, edit, c]) => {
        const i = text.length === 0 ? 0 : at % text.length;
        if (edit === 'insert') return text.slice(0, i) + c + text.slice(i);
        if (edit === 'replace') return text.slice(0, i) + c + text.slice(i + 1);
        return text.slice(0, i) + text.slice(i + 1);
      });
    fc.assert(
      fc.property(edited, (text) => {
        expect(locateJsonSyntaxError(text) === undefined).toBe(parses(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('copes with very deep nesting without recursion', () => {
    expect(locateJsonSyntaxError('['.repeat(200_000) + ']'.repeat(200_000))).toBeUndefined();
    expect(locateJsonSyntaxError('['.repeat(200_000))).toMatchObject({ index: 200_000 });
  });
});

describe('errors from reading the body', () => {
  it('leaves our own Problems alone, even a 400', () => {
    expect(bodyProblem(badRequest('something else'))).toBeUndefined();
  });

  it('leaves errors that are not about the request alone', () => {
    expect(bodyProblem(new Error('boom'))).toBeUndefined();
    expect(
      bodyProblem(Object.assign(new Error('stream'), { status: 500, type: 'stream.encoding.set' })),
    ).toBeUndefined();
  });
});
