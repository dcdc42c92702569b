/**
 * One readable line per event, for an integration engineer following the stream:
 *   2026-11-23T14:58:57.472Z  prescription.issued  stolav-hit-app/RX-2026-0001  → ServiceRequest/1040, CarePlan/1041 (+3)  [hit-bridge.records.v1 1@5]
 * Pure. Shows only what the event itself carries (no national ids: events carry none).
 */
import type { ConsumedEvent } from '../events/event-bus.ts';

const MAX_REFERENCES = 2;

export function eventLine(event: ConsumedEvent): string {
  const value = event.value as {
    time?: unknown;
    type?: unknown;
    subject?: unknown;
    data?: {
      source?: unknown;
      inputId?: unknown;
      ehr?: { references?: unknown };
      httpStatus?: unknown;
      reason?: unknown;
      attempts?: unknown;
    };
  };
  const type = typeof value.type === 'string' ? value.type.replace(/^no\.hitbridge\./, '').replace(/\.v\d+$/, '') : '?';
  const data = value.data ?? {};
  const what = `${text(data.source)}/${text(data.inputId)}`;
  const where = `[${event.topic} ${event.partition}@${event.offset}]`;
  const detail = Array.isArray(data.ehr?.references)
    ? references(data.ehr.references.map(text))
    : data.reason !== undefined
      ? // The submission id is what `hit-bridge replay` takes.
        `✗ HTTP ${text(data.httpStatus)} after ${text(data.attempts)} attempt(s): ${text(data.reason)} (submission ${text(value.subject)})`
      : `submission ${text(value.subject)}`;
  return `${text(value.time)}  ${type}  ${what}  ${detail}  ${where}`;
}

function references(refs: readonly string[]): string {
  const shown = refs.slice(0, MAX_REFERENCES).join(', ');
  return `→ ${shown}${refs.length > MAX_REFERENCES ? ` (+${refs.length - MAX_REFERENCES})` : ''}`;
}

function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '?';
}
