/**
 * The accept path at a fixed offered load: POST /v1/hit-sessions at `rate` requests per second
 * for `seconds`, as an open loop (bench/lib/open-loop.ts: each request sent when due, its
 * latency from when it was due), over at most `connections` kept-alive connections; every body
 * a new session (its own sessionId), so each request is a real first acceptance (store write +
 * job), not a replay answered from the idempotency check.
 */
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import type { FloorFigures } from './commit-floor.ts';
import { openLoop, percentile } from './open-loop.ts';
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
  /** kB the service had written to the disk per accepted request in the window (SQLite: its database, WAL and log). */
  readonly diskKBPerAccept?: number;
  /**
   * The service's own event-loop delay over the measured window, from its /metrics (prom-client's
   * nodejs_eventloop_lag_*: a monitorEventLoopDelay histogram sampled every 10 ms and reset at each
   * scrape, so a delay includes those 10 ms). A max far above the p99 of the accepts' latency tells
   * that the tail is the event loop standing still, not the commit. Absent in older results.
   */
  readonly eventLoopDelay?: EventLoopDelay;
  /** The store's bare accept at the same rate in the same run (bench/lib/commit-floor.ts); absent in older results. */
  floor?: FloorFigures;
}

interface EventLoopDelay {
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The event-loop delay since the previous scrape of the service's /metrics (which resets it). */
async function eventLoopDelayOf(service: BenchService): Promise<EventLoopDelay> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const seconds = (name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return match === null ? Number.NaN : round(Number(match[1]) * 1000, 1);
  };
  return { p99Ms: seconds('nodejs_eventloop_lag_p99_seconds'), maxMs: seconds('nodejs_eventloop_lag_max_seconds') };
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
  options: {
    readonly rate: number;
    readonly seconds: number;
    readonly warmupSeconds: number;
    readonly connections: number;
    readonly source: string;
  },
): Promise<AcceptFigures> {
  const template = sessionTemplate(options.source);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const url = new URL('/v1/hit-sessions', service.url);
  const post = (n: number): Promise<boolean> =>
    new Promise((resolve) => {
      const body = template.replace('@ID@', `S-${options.rate}-${n}`);
      const sent = request(
        url,
        {
          method: 'POST',
          agent,
          timeout: 10_000,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            resolve((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300);
          });
          response.on('error', () => {
            resolve(false);
          });
        },
      );
      sent.on('timeout', () => sent.destroy(new Error('timed out')));
      sent.on('error', () => {
        resolve(false);
      });
      sent.end(body);
    });
  // Not counted: the first seconds of a fresh process (the JIT cold, the SQLite write thread and
  // the lazily loaded modules starting on first use) are start-up, not the steady accept path.
  if (options.warmupSeconds > 0) await openLoop(options.rate, options.warmupSeconds, (n) => post(-1 - n));
  // This scrape resets the service's event-loop histogram: the one after covers the window alone.
  await eventLoopDelayOf(service);
  const cpuBefore = service.cpuSeconds();
  const diskBefore = service.diskWriteBytes();
  const result = await openLoop(options.rate, options.seconds, post);
  const cpu = service.cpuSeconds() - cpuBefore;
  const disk = service.diskWriteBytes() - diskBefore;
  const eventLoopDelay = await eventLoopDelayOf(service);
  agent.destroy();
  return {
    store,
    offeredRps: options.rate,
    seconds: round(result.seconds, 2),
    achievedRps: round(result.ok / result.seconds, 1),
    accepted: result.ok,
    p50Ms: round(percentile(result.latenciesMs, 0.5), 1),
    p99Ms: round(percentile(result.latenciesMs, 0.99), 1),
    maxMs: round(result.latenciesMs.at(-1) ?? Number.NaN, 1),
    errors: result.errors,
    cpuSecondsPer1000: result.ok === 0 ? Number.NaN : round((cpu / result.ok) * 1000, 3),
    peakRssMB: round(service.peakRssMB(), 1),
    diskKBPerAccept: result.ok === 0 ? Number.NaN : round(disk / result.ok / 1000, 2),
    eventLoopDelay,
  };
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
