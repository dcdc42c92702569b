/**
 * The accept path at a fixed offered load: autocannon sends POST /v1/hit-sessions at
 * `rate` requests per second for `seconds`, every body a new session (its own sessionId), so
 * each request is a real first acceptance (store write + job), not a replay answered from the
 * idempotency check.
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import type { FloorFigures } from './commit-floor.ts';
import type { BenchService } from './service.ts';

export interface AcceptFigures {
  readonly store: 'sqlite' | 'postgres';
  readonly offeredRps: number;
  readonly seconds: number;
  readonly achievedRps: number;
  readonly accepted: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  readonly errors: number;
  readonly cpuSecondsPer1000: number;
  readonly peakRssMB: number;
  /** The store's bare accept at the same rate in the same run (bench/lib/commit-floor.ts); absent in older results. */
  floor?: FloorFigures;
}

/** A hit-session body whose sessionId is a placeholder, replaced per request. */
function sessionTemplate(source: string): string {
  const input = JSON.parse(
    readFileSync('test/fixtures/mappings/hit-sessions/typical-4x4.input.json', 'utf8'),
  ) as Record<string, unknown>;
  delete input.prescriptionId;
  return JSON.stringify({ ...input, source, sessionId: '@ID@' });
}

export async function measureAccept(
  service: BenchService,
  store: AcceptFigures['store'],
  options: { readonly rate: number; readonly seconds: number; readonly connections: number; readonly source: string },
): Promise<AcceptFigures> {
  const template = sessionTemplate(options.source);
  let next = 0;
  const cpuBefore = service.cpuSeconds();
  const result = await autocannon({
    url: service.url,
    connections: options.connections,
    overallRate: options.rate,
    duration: options.seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/v1/hit-sessions',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: template.replace('@ID@', `S-${options.rate}-${next++}`) }),
      },
    ],
  });
  const cpu = service.cpuSeconds() - cpuBefore;
  const accepted = result['2xx'];
  return {
    store,
    offeredRps: options.rate,
    seconds: result.duration,
    achievedRps: round(accepted / result.duration, 1),
    accepted,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.non2xx + result.errors + result.timeouts,
    cpuSecondsPer1000: accepted === 0 ? Number.NaN : round((cpu / accepted) * 1000, 3),
    peakRssMB: round(service.peakRssMB(), 1),
  };
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
