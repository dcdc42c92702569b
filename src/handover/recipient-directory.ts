/**
 * The RecipientDirectory port and its one adapter, a YAML (or JSON: YAML 1.2 reads it too) file
 * mapping kommunenummer → Frisklivssentral. The file is read and checked once, at start-up:
 * every problem is reported together, each with its line and column, and the service does not
 * start with a directory it would later stumble over (a handover to nobody).
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { parseHerId } from '../domain/her-id.ts';
import { parseOrganisationNumber } from '../domain/organisation-number.ts';
import { CHANNEL_NAMES, type ChannelName, type FrisklivssentralEntry } from './types.ts';

export interface RecipientDirectory {
  /** The Frisklivssentral serving a municipality (kommunenummer), if the directory has one. */
  byMunicipality(municipality: string): FrisklivssentralEntry | undefined;
  /** A Frisklivssentral by HER-id (the first entry naming it). */
  byHerId(herId: string): FrisklivssentralEntry | undefined;
  readonly size: number;
  /** Every entry, in file order (the start-up check asks which channels are in use). */
  readonly entries: readonly FrisklivssentralEntry[];
}

export type DirectoryResult =
  | { readonly ok: true; readonly directory: RecipientDirectory }
  | { readonly ok: false; readonly errors: readonly string[] };

const FIELDS = ['name', 'herId', 'organisationNumber', 'phone', 'email', 'channel', 'fhirEndpoint'] as const;
type Field = (typeof FIELDS)[number];
const REQUIRED: readonly Field[] = ['name', 'herId', 'organisationNumber', 'phone', 'email'];

/** The same shapes the discharge schema asks of a phone number and an e-mail address. */
const PHONE = /^\+?\d[\d ]{6,18}\d$/;
const EMAIL = /^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$/;
const MAX_NAME = 200;

/** Reads and checks the directory file; throws one Error listing every problem (file:line:column). */
export function loadRecipientDirectory(path: string): RecipientDirectory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`recipient directory ${path}: cannot be read (${(error as Error).message})`, { cause: error });
  }
  const result = parseRecipientDirectory(text, path);
  if (!result.ok) {
    throw new Error(
      `recipient directory ${path} has ${result.errors.length} problem(s):\n  ${result.errors.join('\n  ')}`,
    );
  }
  return result.directory;
}

export function parseRecipientDirectory(text: string, fileName: string): DirectoryResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const errors: string[] = [];
  const at = (offset: number | undefined, message: string): void => {
    const { line, col } = lines.linePos(offset ?? 0);
    errors.push(`${fileName}:${line}:${col}: ${message}`);
  };
  const where = (node: unknown): number | undefined => (node as Node | null | undefined)?.range?.[0];

  for (const error of doc.errors) at(error.pos[0], error.message.split('\n')[0] ?? error.message);
  if (errors.length > 0) return { ok: false, errors };

  const root = doc.contents;
  if (!isMap(root)) {
    at(where(root), 'the file must be a mapping with the key "municipalities"');
    return { ok: false, errors };
  }
  let municipalities: unknown;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (key === 'municipalities') municipalities = pair.value;
    else at(where(pair.key), `unknown key ${JSON.stringify(String(key))}: only "municipalities" is read`);
  }
  if (!isMap(municipalities)) {
    at(where(municipalities ?? root), '"municipalities" must be a mapping of kommunenummer → Frisklivssentral');
    return { ok: false, errors };
  }

  const entries = new Map<string, FrisklivssentralEntry>();
  for (const pair of municipalities.items) {
    const entry = readEntry(pair, at, where);
    if (entry !== undefined) entries.set(entry.municipality, entry);
  }
  if (errors.length > 0) return { ok: false, errors };
  const byHerId = new Map<string, FrisklivssentralEntry>();
  for (const entry of entries.values()) if (!byHerId.has(entry.herId)) byHerId.set(entry.herId, entry);
  return {
    ok: true,
    directory: {
      byMunicipality: (municipality) => entries.get(municipality),
      byHerId: (herId) => byHerId.get(herId),
      size: entries.size,
      entries: [...entries.values()],
    },
  };
}

function readEntry(
  pair: Pair,
  at: (offset: number | undefined, message: string) => void,
  where: (node: unknown) => number | undefined,
): FrisklivssentralEntry | undefined {
  const key = isScalar(pair.key) ? pair.key : undefined;
  const municipality = key?.value;
  if (typeof municipality !== 'string' || !/^\d{4}$/.test(municipality)) {
    at(
      where(pair.key),
      typeof municipality === 'number'
        ? `kommunenummer ${String(municipality)} must be quoted ('0301'): unquoted, YAML reads it as a number and drops leading zeros`
        : 'a kommunenummer must be exactly 4 digits, quoted',
    );
    return undefined;
  }
  if (!isMap(pair.value)) {
    at(where(pair.value ?? pair.key), `municipality ${municipality}: must be a mapping of ${REQUIRED.join(', ')}`);
    return undefined;
  }
  const values: Partial<Record<Field, string>> = {};
  const found = { problems: 0 };
  const problem = (node: unknown, message: string): void => {
    found.problems += 1;
    at(where(node), `municipality ${municipality}: ${message}`);
  };
  for (const item of pair.value.items) {
    const name = isScalar(item.key) ? item.key.value : undefined;
    if (typeof name !== 'string' || !(FIELDS as readonly string[]).includes(name)) {
      problem(item.key, `unknown field ${JSON.stringify(String(name))} (known: ${FIELDS.join(', ')})`);
      continue;
    }
    const value = isScalar(item.value) ? item.value.value : undefined;
    if (typeof value !== 'string') {
      problem(item.value ?? item.key, `${name} must be text (quote numbers: '${String(value)}')`);
      continue;
    }
    const reason = fieldProblem(name as Field, value);
    if (reason !== undefined) problem(item.value, `${name} ${reason}`);
    else values[name as Field] = value;
  }
  for (const field of REQUIRED) {
    if (values[field] === undefined && !pair.value.items.some((i) => isScalar(i.key) && i.key.value === field)) {
      problem(pair.value, `${field} is missing`);
    }
  }
  if (found.problems > 0) return undefined;
  const { name, herId, organisationNumber, phone, email, fhirEndpoint } = values as Required<typeof values>;
  // An entry written before channels existed names an endpoint and nothing else: it keeps it.
  const channel = (values.channel ?? (values.fhirEndpoint === undefined ? 'edi' : 'fhir')) as ChannelName;
  if (channel === 'fhir' && values.fhirEndpoint === undefined) {
    problem(pair.value, 'channel fhir needs a fhirEndpoint');
    return undefined;
  }
  if (channel !== 'fhir' && values.fhirEndpoint !== undefined) {
    problem(pair.value, `fhirEndpoint is only read with channel fhir (this entry's channel is ${channel})`);
    return undefined;
  }
  return {
    municipality,
    name,
    herId,
    organisationNumber,
    phone,
    email,
    channel,
    ...(values.fhirEndpoint === undefined ? {} : { fhirEndpoint: fhirEndpoint.replace(/\/+$/, '') }),
  };
}

function fieldProblem(field: Field, value: string): string | undefined {
  switch (field) {
    case 'name':
      return value.trim() === '' || value.length > MAX_NAME ? `must be 1–${MAX_NAME} characters` : undefined;
    case 'herId': {
      const parsed = parseHerId(value);
      return parsed.ok ? undefined : `is not a HER-id: ${parsed.reason}`;
    }
    case 'organisationNumber': {
      const parsed = parseOrganisationNumber(value);
      return parsed.ok ? undefined : `is not an organisation number: ${parsed.reason}`;
    }
    case 'phone':
      return PHONE.test(value) ? undefined : 'must be a phone number: digits and spaces, optionally starting with +';
    case 'email':
      return EMAIL.test(value) ? undefined : 'must be an e-mail address like name@example.no';
    case 'channel':
      return (CHANNEL_NAMES as readonly string[]).includes(value)
        ? undefined
        : `must be one of ${CHANNEL_NAMES.join(', ')}`;
    case 'fhirEndpoint':
      return /^https?:\/\/[^\s/]+(\/\S*)?$/.test(value) && URL.canParse(value)
        ? undefined
        : 'must be an http(s) URL (a FHIR R4 base URL)';
  }
}
