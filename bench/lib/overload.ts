/**
 * Delivery into an overloaded EHR: HAPI behind a door that lets `capacity` requests in at once
 * and answers 503 to any more, as a busy EHR (or its gateway) does. The end-to-end part is the
 * fast case: an EHR that keeps up with the client's concurrency. This is the other one: the
 * bridge may have `concurrency` Bundles in flight, more than the door takes.
 *
 * Runs of the same N sessions: a direct client that sends exactly `capacity` at a time (the most
 * the door lets through, never refused: the rate to compare with), then the bridge with a fixed
 * EHR_DELIVERY_CONCURRENCY and with the adaptive limit (ADR 0033), each a fresh service on the
 * embedded store with its defaults otherwise (retry backoff, circuit breaker), then the direct
 * client again: HAPI speeds up as it warms, so each bridge run is compared with the mean of the
 * two direct runs (bracketedRatio, as the end-to-end part does). The door counts what it let
 * through and what it refused, so the refusals are the EHR's view, not the bridge's.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bracketedRatio, directToHapi, throughBridge, type BridgeFigures, type EndToEndFigures } from './end-to-end.ts';
import type { BenchService } from './service.ts';
import { forwardRequest } from '../../test/support/forward-request.ts';
import type { WorkItem } from '../../test/support/workload.ts';

interface DoorCounts {
  /** Requests passed on to the EHR. */
  readonly forwarded: number;
  /** Requests answered 503 because `capacity` were already in. */
  readonly refused: number;
  /** The most requests that were in at once. */
  readonly mostInFlight: number;
}

export interface NarrowDoor {
  /** The EHR's base URL through the door (same path as the EHR's own). */
  readonly url: string;
  /** What the door saw since it opened or since the last reset. */
  counts(): DoorCounts;
  reset(): void;
  close(): Promise<void>;
}

/** The body of a refusal: what an overloaded FHIR server answers. */
const REFUSAL = JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'transient', diagnostics: 'Too many requests in progress; try again later.' }],
});

/**
 * A proxy to `ehrBaseUrl` that lets `capacity` requests in at once (any method, any path: an
 * overloaded server refuses its metadata too) and answers 503 to the rest, without Retry-After.
 */
export async function narrowDoor(ehrBaseUrl: string, capacity: number): Promise<NarrowDoor> {
  const target = new URL(ehrBaseUrl);
  let inFlight = 0;
  let counts = { forwarded: 0, refused: 0, mostInFlight: 0 };
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (inFlight >= capacity) {
      counts.refused += 1;
      incoming.resume();
      outgoing.writeHead(503, { 'content-type': 'application/fhir+json' }).end(REFUSAL);
      return;
    }
    inFlight += 1;
    counts.forwarded += 1;
    counts.mostInFlight = Math.max(counts.mostInFlight, inFlight);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      inFlight -= 1;
    };
    // Out of the door once the EHR has answered in full: the client may send its next then.
    const upstream = forwardRequest(target, incoming, outgoing, release);
    upstream.once('error', (error) => {
      release();
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
      outgoing.end(String(error));
    });
    outgoing.once('close', release);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/$/, '')}`,
    counts: () => ({ ...counts }),
    reset() {
      counts = { forwarded: 0, refused: 0, mostInFlight: 0 };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface OverloadRun {
  /** EHR_DELIVERY_ADAPTIVE of the bridge's run. */
  readonly adaptive: boolean;
  readonly bridge: BridgeFigures;
  readonly door: DoorCounts;
  /** The bridge's rate over the direct client's at the door's capacity (the mean of its runs before and after). */
  readonly ratio: number;
}

type DirectRun = EndToEndFigures & { readonly door: DoorCounts };

export interface OverloadFigures {
  readonly capacity: number;
  /** The most Bundles the bridge may have in flight (EHR_DELIVERY_CONCURRENCY). */
  readonly concurrency: number;
  readonly n: number;
  /** The direct client, `capacity` at a time through the same door, before the bridge's runs … */
  readonly direct: DirectRun;
  /** … and after them. */
  readonly directAfter: DirectRun;
  readonly runs: readonly OverloadRun[];
}

export async function measureOverload(options: {
  readonly door: NarrowDoor;
  readonly capacity: number;
  readonly concurrency: number;
  readonly workload: (label: string) => WorkItem[];
  /** A fresh bridge service delivering through the door, fixed or adaptive. */
  readonly bridge: (adaptive: boolean) => Promise<BenchService>;
  readonly stop: (service: BenchService) => Promise<void>;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}): Promise<OverloadFigures> {
  const { door } = options;
  const directRun = async (label: string): Promise<DirectRun> => {
    door.reset();
    const figures = await directToHapi(door.url, options.workload(label), options.capacity);
    const run = { ...figures, door: door.counts() };
    options.log(`  ${label}, ${options.capacity} at a time: ${run.perSecond}/s, refused ${run.door.refused}`);
    return run;
  };
  const direct = await directRun('direct');
  const bridges: { adaptive: boolean; bridge: BridgeFigures; door: DoorCounts }[] = [];
  for (const adaptive of [false, true]) {
    const running = await options.bridge(adaptive);
    door.reset();
    const bridge = await throughBridge(
      [running],
      options.workload(adaptive ? 'adaptive' : 'fixed'),
      options.concurrency,
      options.timeoutMs,
    );
    const counts = door.counts();
    await options.stop(running);
    bridges.push({ adaptive, bridge, door: counts });
    options.log(
      `  bridge, ${adaptive ? 'adaptive' : 'fixed'} ${options.concurrency}: ${bridge.perSecond}/s, refused ${counts.refused}, most in at once ${counts.mostInFlight}, failed ${bridge.failed}`,
    );
  }
  const directAfter = await directRun('direct-again');
  return {
    capacity: options.capacity,
    concurrency: options.concurrency,
    n: direct.n,
    direct,
    directAfter,
    runs: bridges.map(({ adaptive, bridge, door: counts }) => ({
      adaptive,
      bridge,
      door: counts,
      ratio: bracketedRatio(direct, directAfter, bridge),
    })),
  };
}
