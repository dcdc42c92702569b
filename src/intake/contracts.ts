/**
 * The published contracts the HTTP API is built from, read from contracts/ once at start-up:
 * the three input JSON Schemas (ajv compiles them in createApp) and the OpenAPI description
 * (served at /openapi.json, with the schemas it refers to folded in so it stands alone).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { InputSchemas } from '../contracts/input-validator.ts';
import { INPUT_KINDS, KINDS, type InputKind } from '../kinds/kinds.ts';

export interface Contracts {
  readonly schemas: InputSchemas;
  /** The OpenAPI document as served: JSON-ready, with no reference outside itself. */
  readonly openapi: Readonly<Record<string, unknown>>;
}

/** The schema file of each input kind, under contracts/schemas/ (from its descriptor). */
export const SCHEMA_FILES = Object.fromEntries(INPUT_KINDS.map((kind) => [kind, KINDS[kind].schemaFile])) as {
  readonly [K in InputKind]: string;
};

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJsonObject(path: string): JsonObject {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isObject(parsed)) throw new Error(`${path}: expected a JSON object`);
  return parsed;
}

/** Reads contracts/ (relative to the working directory unless `dir` says otherwise). Throws on anything amiss. */
export function loadContracts(dir = 'contracts'): Contracts {
  const schemas = Object.fromEntries(
    INPUT_KINDS.map((kind) => [kind, readJsonObject(join(dir, 'schemas', SCHEMA_FILES[kind]))]),
  ) as InputSchemas;
  const openapi: unknown = parseYaml(readFileSync(join(dir, 'openapi.yaml'), 'utf8'));
  if (!isObject(openapi)) throw new Error(`${join(dir, 'openapi.yaml')}: expected a YAML mapping`);
  return { schemas, openapi: standalone(openapi, dir) };
}

/**
 * The OpenAPI document with every reference to a schema file (`schemas/x.schema.json`) replaced
 * by a reference to a copy under components.schemas, named after the file, so a client that
 * fetches /openapi.json gets everything in one piece. The input schemas have no references of
 * their own, so the copies need no rewriting.
 */
function standalone(document: JsonObject, dir: string): JsonObject {
  const added: JsonObject = {};
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!isObject(node)) return node;
    const ref = node.$ref;
    if (typeof ref === 'string' && !ref.startsWith('#')) {
      const [file = '', fragment = ''] = ref.split('#');
      const name = componentName(file);
      added[name] ??= readJsonObject(join(dir, file));
      return { ...node, $ref: `#/components/schemas/${name}${fragment}` };
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, rewrite(value)]));
  };
  const rewritten = rewrite(document) as JsonObject;
  const components = isObject(rewritten.components) ? rewritten.components : {};
  const own = isObject(components.schemas) ? components.schemas : {};
  const clash = Object.keys(added).find((name) => name in own);
  if (clash !== undefined) throw new Error(`openapi.yaml: components.schemas.${clash} clashes with a schema file`);
  return { ...rewritten, components: { ...components, schemas: { ...own, ...added } } };
}

/** `schemas/hit-session.schema.json` → `HitSessionInput`. */
function componentName(file: string): string {
  const base = file.split('/').pop() ?? file;
  const stem = base.replace(/\.schema\.json$|\.json$/, '');
  return `${stem.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase())}Input`;
}
