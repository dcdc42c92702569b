/**
 * The accept path's floor: the store's own commit latency at the offered rate, with no HTTP,
 * validation or logging in front of it. A bare open loop calls the Store's public accept() at
 * `rate` per second for `seconds` — the same rows, the same durability (SQLite synchronous=FULL,
 * PostgreSQL synchronous_commit on) — and writes the audit entry the service writes after each
 * answer, so the store carries the same writes per request. Latency runs from the call to the
 * promise settling, i.e. until the commit returned. The accept figures are read against it as
 * p99 / floor: what the service adds on top of what the disk and the database cost.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Store } from '../../src/store/store.ts';
import { round } from './accept.ts';

export interface FloorFigures {
  readonly offeredRps: number;
  readonly accepted: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly errors: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
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
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const inFlight = new Set<Promise<void>>();
  const total = Math.round(options.rate * options.seconds);

  const acceptOne = async (n: number): Promise<void> => {
    const now = new Date();
    const started = performance.now();
    try {
      const outcome = await store.accept(
        {
          id: randomUUID(),
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
      latencies.push(performance.now() - started);
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
          errors += 1;
        });
    } catch {
      errors += 1;
    }
  };

  // Open loop, as autocannon's overallRate: every millisecond tick sends what is due by then.
  const startedAt = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * options.rate));
      while (sent < due) {
        const request = acceptOne(sent);
        sent += 1;
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inFlight);
  const sorted = latencies.sort((a, b) => a - b);
  return {
    offeredRps: options.rate,
    accepted: latencies.length,
    p50Ms: round(percentile(sorted, 0.5), 2),
    p99Ms: round(percentile(sorted, 0.99), 2),
    maxMs: round(sorted.at(-1) ?? Number.NaN, 2),
    errors,
  };
}
