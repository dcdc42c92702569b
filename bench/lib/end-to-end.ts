/**
 * End to end: N hit sessions posted to hit-bridge and delivered into HAPI, against the same
 * number of the same Bundles posted straight to HAPI by a plain fetch client, at the same
 * concurrency. Each run uses its own source, so every Bundle creates new records (a repeated
 * conditional create would be a cheap no-op and flatter the second run).
 *
 * The bridge's time runs from the first POST to the last "delivered" entry on the submissions'
 * timelines (the service's own clock, on the same machine), so how often we poll does not change
 * it; but every read of ours costs the bridge CPU that HAPI, CPU-bound on the same cores, would
 * have used, so we ask little while it works and read the timelines afterwards.
 */
import type { Bundle } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { withProvenance } from '../../mappings/provenance.ts';
import { mappers } from '../../mappings/registry.ts';
import { fixtureCases, readInput } from '../../test/support/fixtures.ts';
import { pool, postUntilAccepted, type WorkItem } from '../../test/support/workload.ts';
import { round } from './accept.ts';
import type { BenchService } from './service.ts';
import { cpuShares, type CpuMeter } from './machine-cpu.ts';
import type { Inputs } from '../../src/kinds/kinds.ts';

export interface EndToEndFigures {
  readonly n: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly failed: number;
  /**
   * Where the machine's CPU went over the window, per session (µs) and as a share of the cores
   * (bench/lib/machine-cpu.ts; the bridge's processes are in `rest`, and beside it as `bridge`);
   * absent in results written before 2026-12-06 (session 10).
   */
  readonly cpu?: ReturnType<typeof cpuShares> & { readonly bridgeMicrosPerSession?: number };
}

export interface BridgeFigures extends EndToEndFigures {
  /** All of the bridge's processes together. */
  readonly cpuSecondsPer1000: number;
  readonly peakRssMB: number;
}

/** `n` hit sessions cycling through the session fixtures, each with its own sessionId under `source`. */
export function sessionWorkload(n: number, source: string): WorkItem[] {
  const cases = fixtureCases(['hit-sessions']);
  return Array.from({ length: n }, (_, index) => {
    const fixture = cases[index % cases.length];
    if (fixture === undefined) throw new Error('no hit-session fixtures');
    const input: Record<string, unknown> = { ...(readInput(fixture) as unknown as Record<string, unknown>), source };
    input.sessionId = `${String(input.sessionId)}-N${index}`;
    // Sessions stand alone here: whether their prescription arrived first is not what is measured.
    delete input.prescriptionId;
    return { index, kind: 'hit-sessions', input, idempotencyKey: `${source}-k${index}` };
  });
}

/**
 * The direct client's concurrency shared out between `workers` delivery workers, as evenly as
 * whole numbers allow (8 over 3: 3, 3, 2), so the bridge never has more Bundles in flight than
 * the client it is compared with. Each worker has at least one, whatever the total.
 */
export function splitConcurrency(total: number, workers: number): number[] {
  return Array.from({ length: workers }, (_, index) =>
    Math.max(1, Math.floor(total / workers) + (index < total % workers ? 1 : 0)),
  );
}

/**
 * The bridge's rate against the direct client's, with a direct run before and after the bridge's:
 * HAPI slows as its database grows and speeds up as its JIT settles, so a single direct run
 * before the bridge's would charge (or credit) that drift to the bridge. Same N in every run, so
 * the ratio of rates is the mean direct time over the bridge's time (unrounded).
 */
export function bracketedRatio(
  before: EndToEndFigures,
  after: EndToEndFigures | undefined,
  bridge: EndToEndFigures,
): number {
  const directSeconds = after === undefined ? before.seconds : (before.seconds + after.seconds) / 2;
  return round(directSeconds / bridge.seconds, 2);
}

export async function directToHapi(
  ehr: string,
  items: readonly WorkItem[],
  concurrency: number,
  meter?: CpuMeter,
): Promise<EndToEndFigures> {
  // The Bundle the delivery worker sends: the mapping plus its Provenance.
  const recorded = new Date().toISOString();
  const bodies = items.map((item) =>
    JSON.stringify(
      withProvenance(
        mappers['hit-sessions'](item.input as unknown as Inputs['hit-sessions'], DEFAULT_MAPPING_OPTIONS),
        { recorded, source: String(item.input.source) },
      ),
    ),
  );
  let failed = 0;
  const stopMeter = meter?.start();
  const started = performance.now();
  await pool(bodies, concurrency, async (body) => {
    const response = await fetch(ehr, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
      body,
    });
    const answer = (await response.json()) as Bundle;
    if (response.status !== 200 || answer.type !== 'transaction-response') failed += 1;
  });
  const seconds = (performance.now() - started) / 1000;
  const window = stopMeter?.();
  const cpu = window === undefined ? undefined : cpuShares(window, items.length);
  return {
    n: items.length,
    concurrency,
    seconds: round(seconds, 3),
    perSecond: round(items.length / seconds, 2),
    failed,
    ...(cpu === undefined ? {} : { cpu }),
  };
}

interface StatusView {
  readonly status: string;
  readonly timeline: readonly { readonly at: string; readonly kind: string }[];
}

export async function throughBridge(
  services: readonly BenchService[],
  items: readonly WorkItem[],
  concurrency: number,
  timeoutMs: number,
  meter?: CpuMeter,
): Promise<BridgeFigures> {
  const api = services[0];
  if (api === undefined) throw new Error('no bridge service');
  const stopMeter = meter?.start();
  const cpuBefore = services.map((service) => service.cpuSeconds());
  const startedAt = Date.now();
  const posted = await pool(items, concurrency, (item) => postUntilAccepted(() => api.url, item));
  const ids = posted.map((outcome) => outcome.id);
  const source = items[0]?.input.source;
  if (typeof source !== 'string') throw new Error('the workload names no source');
  // While the bridge works, one cheap question a second: is any of this run's submissions
  // still on its way? The bench's own requests share the cores with HAPI and the bridge, and the
  // measured time comes from the timelines, not from when we look, so the per-submission reads
  // wait until everything is out of the way.
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(
      `${api.url}/v1/submissions?status=accepted&source=${encodeURIComponent(source)}&limit=1`,
    );
    if (response.status !== 200) throw new Error(`listing undelivered submissions answered ${response.status}`);
    const page = (await response.json()) as { readonly items: readonly unknown[] };
    if (page.items.length === 0) break;
    if (Date.now() > deadline) throw new Error(`submissions not delivered within ${timeoutMs} ms`);
    // Once a second, not every 250 ms: each question cost the bridge ~1.5 ms of CPU and its
    // PostgreSQL a query, taken from HAPI; the end of the window comes from the timelines anyway.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  // The bridge's work ends here; the reads below are the bench's.
  const cpu = services.reduce((sum, service, index) => sum + service.cpuSeconds() - (cpuBefore[index] ?? 0), 0);
  const window = stopMeter?.();
  let lastDelivered = 0;
  let failed = 0;
  for (const id of ids) {
    const view = (await (await fetch(`${api.url}/v1/submissions/${id}`)).json()) as StatusView;
    if (view.status !== 'delivered') failed += 1;
    const delivered = view.timeline.find((entry) => entry.kind === 'delivered' || entry.kind === 'failed');
    if (delivered !== undefined) lastDelivered = Math.max(lastDelivered, Date.parse(delivered.at));
  }
  const seconds = (lastDelivered - startedAt) / 1000;
  return {
    n: items.length,
    concurrency,
    seconds: round(seconds, 3),
    perSecond: round(items.length / seconds, 2),
    failed,
    ...(window === undefined
      ? {}
      : { cpu: { ...cpuShares(window, items.length), bridgeMicrosPerSession: round((cpu / items.length) * 1e6, 0) } }),
    cpuSecondsPer1000: round((cpu / items.length) * 1000, 2),
    peakRssMB: round(Math.max(...services.map((service) => service.peakRssMB())), 1),
  };
}
