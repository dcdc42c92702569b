/**
 * Reading a JSON request body, and saying precisely what is wrong when it cannot be read:
 * the wrong Content-Type (415), a body over the limit (413), JSON that does not parse (400,
 * naming the line and column where it breaks). express.json() reports its failures as errors
 * with a `type`; `bodyProblem` turns them into the one error type, and the app's one problem
 * handler calls it, so every error still leaves through that handler.
 *
 * Messages never repeat the body: it may hold a national id.
 */
import express, { type RequestHandler } from 'express';
import { addPersonalValues } from '../platform/logger.ts';
import { badRequest, payloadTooLarge, Problem, unsupportedMediaType } from '../platform/problem.ts';

/** application/json, or any application/…+json (e.g. application/fhir+json). */
const JSON_MEDIA_TYPE = /^application\/(json|[a-z0-9!#$&^_.-]+\+json)$/;
const TOKEN = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

/** The media type of a Content-Type header, lower-cased, without parameters. */
function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type === undefined || type === '' ? undefined : type;
}

/**
 * How deeply a body may nest objects and lists. The inputs nest four levels at most; a body
 * nested thousands deep is an attack on whatever walks it next (validation, hashing, logging).
 */
export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of objects and lists in a parsed JSON value (0 for a scalar); iterative, so it cannot overflow. */
export function jsonDepth(value: unknown, stopAbove = Infinity): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > stopAbove) return deepest;
    for (const child of Object.values(node)) stack.push([child, level]);
  }
  return deepest;
}

/** The middleware that reads a JSON body of at most `limitBytes` (after decompression). */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const type = mediaType(req.get('content-type'));
    if (type !== undefined && JSON_MEDIA_TYPE.test(type)) {
      next();
      return;
    }
    const got =
      type === undefined
        ? 'this request has no Content-Type'
        : TOKEN.test(type) && type.length <= 100
          ? `this request's is ${type}`
          : "this request's is not a media type";
    next(unsupportedMediaType(`The body must be JSON, sent with Content-Type: application/json; ${got}.`));
  };
  // strict: false lets any JSON value through, so a body that is valid JSON but not an object is
  // answered by validation ("must be an object"), not called malformed.
  const parse = express.json({ limit: limitBytes, strict: false, type: () => true });
  const requireBody: RequestHandler = (req, _res, next) => {
    // Whatever the body says about a person is scrubbed from every line this request logs.
    addPersonalValues(req.body);
    if (req.body === undefined) {
      next(badRequest('The request has no body: send the input as JSON.'));
    } else if (jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      next(badRequest(`The body nests objects and lists more than ${MAX_JSON_DEPTH} levels deep.`));
    } else next();
  };
  return [requireJson, parse, requireBody];
}

interface BodyParserError {
  readonly type?: unknown;
  readonly status: number;
  readonly limit?: unknown;
  readonly body?: unknown;
}

/** express.json() fails with http-errors: a 4xx `status`, mostly with a `type`. */
function isBodyParserError(error: unknown): error is Error & BodyParserError {
  if (!(error instanceof Error) || error instanceof Problem) return false;
  const { status } = error as Partial<BodyParserError>;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** The Problem for an error express.json() raised, or undefined when it is not one. */
export function bodyProblem(error: unknown): Problem | undefined {
  if (!isBodyParserError(error)) return undefined;
  switch (error.type) {
    case 'entity.too.large':
      return payloadTooLarge(
        `The body is larger than ${String(error.limit)} bytes, the most this API reads in one request.`,
      );
    case 'entity.parse.failed': {
      const where = typeof error.body === 'string' ? locateJsonSyntaxError(error.body) : undefined;
      return badRequest(
        where === undefined
          ? 'The body is not valid JSON.'
          : `The body is not valid JSON: at line ${where.line}, column ${where.column}, ${where.problem}.`,
      );
    }
    case 'charset.unsupported':
      return unsupportedMediaType('The charset of the body is not supported: send JSON in UTF-8.');
    case 'encoding.unsupported':
      return unsupportedMediaType(
        'The Content-Encoding of the body is not supported: send it uncompressed, or as gzip, deflate or br.',
      );
    case 'request.aborted':
      return badRequest('The request was aborted before the whole body arrived.');
    case 'request.size.invalid':
      return badRequest('The body is not as long as its Content-Length header says.');
    default:
      // e.g. a compressed body that does not decompress: body-parser passes the stream's error on as a 400.
      return error.status === 400
        ? badRequest('The body could not be read: it is cut short, or its compression is broken.')
        : undefined;
  }
}

export interface JsonSyntaxError {
  /** 0-based index into the text. */
  readonly index: number;
  /** 1-based line and column (in UTF-16 code units, as editors mostly count). */
  readonly line: number;
  readonly column: number;
  /** What was wrong there, in words, e.g. "expected ',' or '}' after a value". */
  readonly problem: string;
}

type State = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'after-value';

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Where a text stops being JSON (RFC 8259), or undefined if it is JSON. JSON.parse says where
 * only for some errors, and its message can quote the body; this says where for all of them,
 * in its own words. An explicit stack, not recursion, so deep nesting cannot overflow it.
 */
export function locateJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const stack: ('{' | '[')[] = [];
  let state: State = 'value';
  let i = 0;
  const fail = (index: number, problem: string): JsonSyntaxError => {
    const before = text.slice(0, index);
    const line = before.split('\n').length;
    return { index, line, column: index - before.lastIndexOf('\n'), problem };
  };
  /** The index after the string starting at `start`, or the error in it. */
  const string = (start: number): number | JsonSyntaxError => {
    let j = start + 1;
    for (;;) {
      if (j >= text.length) return fail(text.length, 'a string is not closed (a " is missing)');
      const c = text.charAt(j);
      if (c === '"') return j + 1;
      if (c === '\\') {
        const next = text.charAt(j + 1);
        if (ESCAPES.has(next)) j += 2;
        else if (next === 'u' && HEX4.test(text.slice(j + 2, j + 6))) j += 6;
        else return fail(j, 'a backslash in a string starts an escape JSON does not have');
      } else if (c.charCodeAt(0) < 0x20) {
        return fail(j, 'a string holds a control character (such as a line break) that must be escaped');
      } else j += 1;
    }
  };

  for (;;) {
    while (i < text.length && WHITESPACE.has(text.charAt(i))) i += 1;
    if (i >= text.length) {
      return state === 'after-value' && stack.length === 0
        ? undefined
        : fail(i, 'the body ends before the JSON is complete');
    }
    const c = text.charAt(i);
    switch (state) {
      case 'value':
      case 'value-or-end': {
        if (state === 'value-or-end' && c === ']') {
          stack.pop();
          i += 1;
          state = 'after-value';
        } else if (c === '{' || c === '[') {
          stack.push(c);
          i += 1;
          state = c === '{' ? 'key-or-end' : 'value-or-end';
        } else if (c === '"') {
          const end = string(i);
          if (typeof end !== 'number') return end;
          i = end;
          state = 'after-value';
        } else if (c === '-' || (c >= '0' && c <= '9')) {
          NUMBER.lastIndex = i;
          const match = NUMBER.exec(text);
          if (match === null) return fail(i, 'a number is malformed');
          i += match[0].length;
          state = 'after-value';
        } else {
          const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
          if (literal === undefined) {
            return fail(
              i,
              'expected a value: an object, a list, a string in double quotes, a number, true, false or null',
            );
          }
          i += literal.length;
          state = 'after-value';
        }
        break;
      }
      case 'key':
      case 'key-or-end': {
        if (state === 'key-or-end' && c === '}') {
          stack.pop();
          i += 1;
          state = 'after-value';
          break;
        }
        if (c !== '"') return fail(i, 'expected a field name in double quotes');
        const end = string(i);
        if (typeof end !== 'number') return end;
        i = end;
        state = 'colon';
        break;
      }
      case 'colon':
        if (c !== ':') return fail(i, "expected ':' after the field name");
        i += 1;
        state = 'value';
        break;
      case 'after-value': {
        const open = stack.at(-1);
        if (open === undefined) return fail(i, 'expected the end of the body after the JSON value');
        const close = open === '{' ? '}' : ']';
        if (c === ',') {
          i += 1;
          state = open === '{' ? 'key' : 'value';
        } else if (c === close) {
          stack.pop();
          i += 1;
        } else return fail(i, `expected ',' or '${close}' after a value`);
        break;
      }
    }
  }
}
