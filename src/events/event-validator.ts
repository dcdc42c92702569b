/**
 * Checks an event against its JSON Schema (contracts/events/) before it is published: an event
 * that breaks its contract is a bug on our side and must not reach consumers. The schemas are
 * compiled once, when the validator is made; the composition root passes it to the relay.
 *
 * Problems name the field and the rule, never the value: a misplaced value could be a national id.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ALL_EVENT_TYPES } from './cloud-events.ts';
import type { EventSchemas } from './event-schemas.ts';

type EventValidation = { readonly ok: true } | { readonly ok: false; readonly problems: readonly string[] };

export interface EventValidator {
  validateEvent(event: unknown): EventValidation;
  /** Throws (not retriable: a bug) listing the problems when the event is not valid. */
  assertValidEvent(event: unknown): void;
}

export function createEventValidator(schemas: EventSchemas): EventValidator {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv, ['date-time', 'uri', 'uri-reference', 'uuid']);
  const compiled = new Map<string, ValidateFunction>(ALL_EVENT_TYPES.map((type) => [type, ajv.compile(schemas[type])]));

  const validateEvent = (event: unknown): EventValidation => {
    const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
    const validate = typeof type === 'string' ? compiled.get(type) : undefined;
    if (validate === undefined) {
      return { ok: false, problems: [`/type must be one of ${ALL_EVENT_TYPES.join(', ')}`] };
    }
    if (validate(event)) return { ok: true };
    return { ok: false, problems: (validate.errors ?? []).map(describe) };
  };

  return {
    validateEvent,
    assertValidEvent(event) {
      const result = validateEvent(event);
      if (!result.ok) throw new Error(`the event breaks its schema: ${result.problems.join('; ')}`);
    },
  };
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(the event)' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${where} lacks ${String(params.missingProperty)}`;
    case 'additionalProperties':
      return `${where} has a field the schema does not allow: ${String(params.additionalProperty)}`;
    case 'not':
      return `${where} holds something that looks like a national id`;
    default:
      // ajv's messages for the remaining keywords quote the rule (pattern, limit), not the value.
      return `${where} ${error.message ?? `breaks the ${error.keyword} rule`}`;
  }
}
