/**
 * The accept path's floor: the store's own commit latency at the offered rate, with no HTTP,
 * validation or logging in front of it. A bare open loop calls the Store's public accept() at
 * `rate` per second for `seconds` — the same rows, the same durability (SQLite synchronous=FULL,
 * PostgreSQL synchronous_commit on) — and writes the audit entry the service writes after each
 * answer, so the store carries the same writes per request. Latency runs from when the call was
 * due to the promise settling, i.e. until the commit returned. The accept figures are read against it as
 * p99 / floor: what the service adds on top of what the disk and the database cost.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { timeOrderedUuid } from '../../src/platform/uuid.ts';
import type { Store } from '../../src/store/store.ts';
import { round } from './accept.ts';
import { openLoop, percentile } from './open-loop.ts';

export interface FloorFigures {
  readonly offeredRps: number;
  readonly accepted: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: number;
}

/** A typical session input as the validator leaves it (the stored body is the validated input). */
function sessionBody(source: string): Record<string, unknown> {
  const input = JSON.parse(
    readFileSync('test/fixtures/mappings/hit-sessions/typical-4x4.input.json', 'utf8'),
  ) as Record<string, unknown>;
  delete input.prescriptionId;
  return { ...input, source };
}

export async function measureCommitFloor(
  store: Store,
  options: { readonly rate: number; readonly seconds: number; readonly source: string },
): Promise<FloorFigures> {
  const body = sessionBody(options.source);
  let auditErrors = 0;

  const acceptOne = async (n: number): Promise<boolean> => {
    const now = new Date();
    const outcome = await store.accept(
      {
        // Named as the service names a submission (ADR 0056): the ids decide which index pages
        // each commit writes, so the floor's commits must write the pages the service's do.
        id: timeOrderedUuid(now),
        kind: 'hit-sessions',
        source: options.source,
        inputId: `F-${options.rate}-${n}`,
        idempotencyKey: undefined,
        bodyHash: randomUUID().replaceAll('-', ''),
        body: { ...body, sessionId: `F-${options.rate}-${n}` },
        patientKey: 'floor-patient-key',
        acceptedAt: now,
      },
      { queue: 'ehr-delivery', payload: {}, runAt: now },
    );
    void store
      .recordAudit({
        at: new Date(),
        clientId: 'anonymous',
        method: 'POST',
        route: '/v1/hit-sessions',
        status: 202,
        submissionId: outcome.outcome === 'conflict' ? undefined : outcome.submission.id,
        requestId: randomUUID(),
      })
      .catch(() => {
        auditErrors += 1;
      });
    return true;
  };

  // The same open loop as the service is measured with, so the two p99s compare.
  const result = await openLoop(options.rate, options.seconds, acceptOne);
  const sorted = result.latenciesMs;
  return {
    offeredRps: options.rate,
    accepted: result.ok,
    p50Ms: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 2),
    errors: result.errors + auditErrors,
  };
}
