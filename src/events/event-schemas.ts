/**
 * The event JSON Schemas, read from contracts/events/ once at start-up (as src/intake/contracts.ts
 * reads the input schemas): the same files consumers are pointed at by each event's `dataschema`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_EVENT_TYPES, dataschemaOf, schemaFileName, type EventType } from './cloud-events.ts';

export type EventSchemas = { readonly [T in EventType]: Readonly<Record<string, unknown>> };

/** Reads contracts/events/ (relative to the working directory unless `dir` says otherwise). Throws on anything amiss. */
export function loadEventSchemas(dir = 'contracts'): EventSchemas {
  const entries = ALL_EVENT_TYPES.map((type) => {
    const path = join(dir, 'events', schemaFileName(type));
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`${path}: expected a JSON object`);
    }
    const schema = parsed as Record<string, unknown>;
    if (schema.$id !== dataschemaOf(type)) throw new Error(`${path}: $id must be ${dataschemaOf(type)}`);
    return [type, schema] as const;
  });
  return Object.fromEntries(entries) as EventSchemas;
}
