/** The bench's figures as a plain-text table, and the issue's targets judged against them. */
import { round, type AcceptFigures } from './accept.ts';
import type { BusyFigures } from './busy.ts';
import type { BridgeFigures, EndToEndFigures } from './end-to-end.ts';
import type { MappingFigures } from './mapping.ts';
import type { OverloadFigures } from './overload.ts';
import type { RecordingFigures } from './recording.ts';
import type { RelayFigures } from './relay.ts';
import type { StartupFigures } from './startup.ts';

/** Mutable: bench/run.ts fills it as the parts finish. */
export interface BenchResults {
  machine: {
    readonly cores: number;
    readonly cpu: string;
    readonly memoryGB: number;
    readonly loadAverageAtStart: readonly number[];
    readonly loadAverageAtEnd: readonly number[];
    readonly node: string;
  };
  readonly versions: { readonly hapi: string; readonly postgres: string; readonly kafka: string };
  /** Absent in results written before the start-up part existed. */
  startup?: StartupFigures[];
  mapping: MappingFigures[];
  /** Absent in results written before the recording import existed. */
  recording?: RecordingFigures[];
  accept: AcceptFigures[];
  endToEnd: {
    readonly name: string;
    /** The direct client's run before the bridge's. */
    readonly direct: EndToEndFigures;
    /** The direct client's run after the bridge's; absent in results written before it was run. */
    readonly directAfter?: EndToEndFigures;
    readonly bridge: BridgeFigures;
    readonly ratio: number;
  }[];
  relay: RelayFigures[];
  /** Absent in results written before the part existed. */
  busy?: BusyFigures[];
  /** Absent in results written before the part existed (2026-12-06, session 13). */
  overload?: OverloadFigures[];
}

export interface TargetVerdict {
  readonly target: string;
  readonly measured: string;
  /** The limit, or the peer measured beside it in the same run. */
  readonly against: string;
  /** null when the run did not measure it (e.g. a rate left out by BENCH_ACCEPT_RATES). */
  readonly met: boolean | null;
}

/** The variant `npm start` and the image run, judged for start-up and idle memory. */
const STARTUP_VARIANT = 'built JS';
const TARGET_RATE = 1000;
const ACCEPT_P99_MS = { sqlite: 10, postgres: 15 } as const;
const PEAK_RSS_MB = 150;
const IDLE_RSS_MB = 100;
const READY_MS = 1500;
const MAPPING_MICROS = 50;
const RATIO = 0.95;

/** The targets of the second performance round, each beside the limit or the peer it is measured against. */
export function evaluateTargets(results: BenchResults): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  for (const store of ['sqlite', 'postgres'] as const) {
    const run = results.accept.find((figures) => figures.store === store && figures.offeredRps === TARGET_RATE);
    verdicts.push({
      target: `accept p99 at 1,000 req/s (${store === 'sqlite' ? 'embedded store' : 'PostgreSQL'})`,
      measured: run === undefined ? 'not run' : `${run.p99Ms} ms (achieved ${run.achievedRps}/s, ${run.errors} errors)`,
      against: `≤ ${ACCEPT_P99_MS[store]} ms, no errors${
        run?.floor === undefined
          ? ''
          : `; store commit floor p99 ${run.floor.p99Ms} ms, accept / floor ${Math.round((run.p99Ms / run.floor.p99Ms) * 10) / 10}×`
      }`,
      met: run === undefined ? null : run.p99Ms <= ACCEPT_P99_MS[store] && run.errors === 0,
    });
  }
  for (const store of ['sqlite', 'postgres'] as const) {
    const run = results.accept.find((figures) => figures.store === store && figures.offeredRps === TARGET_RATE);
    verdicts.push({
      target: `peak RSS at 1,000 req/s (${store === 'sqlite' ? 'embedded store' : 'PostgreSQL'})`,
      measured: run === undefined ? 'not run' : `${run.peakRssMB} MB`,
      against: `≤ ${PEAK_RSS_MB} MB`,
      met: run === undefined ? null : run.peakRssMB <= PEAK_RSS_MB,
    });
  }
  for (const run of results.relay) {
    verdicts.push({
      target: `relay into Kafka (${run.store} outbox)`,
      measured: `${run.ratio}× (${run.relayPerSecond}/s; rounds ${run.spread.ratio.join('–')}×)`,
      against: `≥ ${RATIO}× bare kafkajs (${run.barePerSecond}/s)`,
      met: run.ratio >= RATIO,
    });
  }
  for (const run of results.busy ?? []) {
    verdicts.push({
      target: `accept p99 at ${run.busy.offeredRps} req/s while delivering a backlog of ${run.backlog} (embedded store)`,
      measured: `${run.busy.p99Ms} ms (achieved ${run.busy.achievedRps}/s, ${run.busy.errors} errors)`,
      against: `≤ ${ACCEPT_P99_MS.sqlite} ms, no errors; idle p99 ${run.idle.p99Ms} ms`,
      met: run.busy.p99Ms <= ACCEPT_P99_MS.sqlite && run.busy.errors === 0,
    });
  }
  const sessions = results.mapping.find((figures) => figures.kind === 'hit-sessions');
  verdicts.push({
    target: 'mapping + validation per session',
    measured: sessions === undefined ? 'not run' : `${sessions.totalMicros} µs CPU`,
    against: `≤ ${MAPPING_MICROS} µs`,
    met: sessions === undefined ? null : sessions.totalMicros <= MAPPING_MICROS,
  });
  for (const run of results.endToEnd) {
    verdicts.push({
      target: `end to end into HAPI (${run.name})`,
      measured: `${run.ratio}× (${run.bridge.perSecond}/s)`,
      against: `≥ ${RATIO}× direct (${directRates(run)})`,
      met: run.ratio >= RATIO,
    });
  }
  const startup = results.startup?.find((figures) => figures.variant === STARTUP_VARIANT);
  verdicts.push({
    target: 'start-up: spawn to /readyz 200 (embedded store, built JS)',
    measured:
      startup === undefined
        ? 'not run'
        : `median ${startup.medianReadyMs} ms, max ${startup.maxReadyMs} ms (${startup.runs} runs)`,
    against: `median ≤ ${READY_MS} ms`,
    met: startup === undefined ? null : startup.medianReadyMs <= READY_MS,
  });
  verdicts.push({
    target: 'idle RSS after start (embedded store, built JS)',
    measured:
      startup === undefined
        ? 'not run'
        : `median ${startup.medianIdleRssMB} MB, max ${startup.maxIdleRssMB} MB, ${startup.settleMs / 1000} s after ready`,
    against: `median ≤ ${IDLE_RSS_MB} MB`,
    met: startup === undefined ? null : startup.medianIdleRssMB <= IDLE_RSS_MB,
  });
  return verdicts;
}

/** The direct client's rate before the bridge's run and, where measured, after it. */
function directRates(run: BenchResults['endToEnd'][number]): string {
  const before = `${run.direct.perSecond}/s`;
  return run.directAfter === undefined ? before : `${before}, ${run.directAfter.perSecond}/s`;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]): string =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

/** A titled table, or nothing when the run did not measure it. */
function section(title: string, header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  return rows.length === 0 ? [] : [title, '', table(header, rows), ''];
}

/** Markdown tables, so the same text goes into the README. */
export function renderTable(results: BenchResults & { readonly targets: readonly TargetVerdict[] }): string {
  const { machine, versions } = results;
  return [
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGB} GB; load average ${machine.loadAverageAtStart.join(' ')} at start, ${machine.loadAverageAtEnd.join(' ')} at end. Node ${machine.node}; ${versions.hapi}; Kafka ${versions.kafka}; PostgreSQL ${versions.postgres}.`,
    '',
    ...section(
      'Start-up on the embedded store (spawn to the first /readyz 200; RSS after a settle, nothing asked yet):',
      ['variant', 'runs', 'median ms', 'max ms', 'median idle RSS MB', 'max idle RSS MB'],
      (results.startup ?? []).map((run) => [
        run.variant,
        run.runs,
        run.medianReadyMs,
        run.maxReadyMs,
        run.medianIdleRssMB,
        run.maxIdleRssMB,
      ]),
    ),
    ...section(
      'Accept path (POST /v1/hit-sessions, a new session each request):',
      [
        'store',
        'offered/s',
        'achieved/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'CPU s / 1,000',
        'peak RSS MB',
        'disk kB / accept',
        'floor p50 / p99 ms',
        'p99 / floor',
        'loop delay p99 / max ms',
      ],
      results.accept.map((run) => [
        run.store,
        run.offeredRps,
        run.achievedRps,
        run.p50Ms,
        run.p99Ms,
        run.maxMs,
        run.errors,
        run.cpuSecondsPer1000,
        run.peakRssMB,
        run.diskKBPerAccept ?? '',
        run.floor === undefined ? '' : `${run.floor.p50Ms} / ${run.floor.p99Ms}`,
        run.floor === undefined ? '' : `${Math.round((run.p99Ms / run.floor.p99Ms) * 10) / 10}×`,
        loopDelay(run),
      ]),
    ),
    ...section(
      'End to end into HAPI (same N Bundles, same client concurrency; direct run right before the bridge run):',
      [
        'bridge setup',
        'N',
        'conc.',
        'direct/s (before, after)',
        'bridge/s',
        'ratio',
        'failed',
        'bridge CPU s / 1,000',
        'bridge peak RSS MB',
      ],
      results.endToEnd.map((run) => [
        run.name,
        run.bridge.n,
        run.bridge.concurrency,
        directRates(run),
        run.bridge.perSecond,
        run.ratio,
        run.direct.failed + (run.directAfter?.failed ?? 0) + run.bridge.failed,
        run.bridge.cpuSecondsPer1000,
        run.bridge.peakRssMB,
      ]),
    ),
    ...section(
      'Delivery into an overloaded EHR (HAPI behind a door that lets C requests in at once and answers 503 to more; the bridge may have more in flight; embedded store, 1 ehr worker, default retry and circuit breaker):',
      [
        'client',
        'in flight (most)',
        'N',
        'sessions/s',
        'ratio to direct (mean of before, after)',
        'refused by the door',
        'refused per session',
        'most in at once',
        'failed',
      ],
      (results.overload ?? []).flatMap((run) => [
        overloadRow(`direct client, ${run.capacity} at a time (before)`, run.capacity, run.direct, 1, run.direct.door),
        overloadRow(
          `direct client, ${run.capacity} at a time (after)`,
          run.capacity,
          run.directAfter,
          1,
          run.directAfter.door,
        ),
        ...run.runs.map((bridge) =>
          overloadRow(
            `bridge, ${bridge.adaptive ? 'adaptive (EHR_DELIVERY_ADAPTIVE=true)' : 'fixed (EHR_DELIVERY_ADAPTIVE=false)'}`,
            run.concurrency,
            bridge.bridge,
            bridge.ratio,
            bridge.door,
          ),
        ),
      ]),
    ),
    ...section(
      'Event relay into Kafka (rounds alternate bare kafkajs and relay; rates are medians over the rounds, [slowest, fastest] beside them; CPU is this process’s per event, median):',
      [
        'outbox',
        'N × rounds',
        'events per request (relay/bare)',
        'value bytes',
        'relay/s',
        'bare kafkajs/s',
        'ratio of medians',
        'per-round ratios',
        'CPU µs/event relay/bare',
      ],
      results.relay.map((run) => [
        run.store,
        `${run.n} × ${run.rounds.length}`,
        `${run.eventsPerRequest.relay} / ${run.eventsPerRequest.bare}`,
        run.valueBytes,
        `${run.relayPerSecond} [${run.spread.relayPerSecond.join(', ')}]`,
        `${run.barePerSecond} [${run.spread.barePerSecond.join(', ')}]`,
        run.ratio,
        `[${run.spread.ratio.join(', ')}]`,
        `${run.cpuMicrosPerEvent.relay} / ${run.cpuMicrosPerEvent.bare}`,
      ]),
    ),
    ...section(
      'Where the machine’s CPU went during each side of the relay part (summed over its rounds): µs per event, and in brackets % of all the machine’s cores over the side’s wall time; idle is what was left:',
      [
        'outbox',
        'side',
        'cores',
        'bench loop',
        'bench other threads',
        'Kafka broker',
        'PostgreSQL (outbox db)',
        'PostgreSQL other',
        'rest of machine',
        'machine busy',
        'idle',
        'steal',
      ],
      results.relay.flatMap((run) =>
        (['bare', 'relay'] as const).map((side) => {
          const shares = run.machine[side];
          const cell = (key: keyof typeof shares.microsPerEvent) =>
            `${shares.microsPerEvent[key]} (${shares.percentOfCores[key]} %)`;
          return [
            run.store,
            side,
            shares.cores,
            cell('benchLoop'),
            cell('benchThreads'),
            cell('broker'),
            cell('postgres'),
            cell('postgresOther'),
            cell('rest'),
            cell('machine'),
            cell('idle'),
            cell('steal'),
          ];
        }),
      ),
    ),
    ...section(
      'Accept while busy (SQLite, all roles: the same rate on an idle service, then on one delivering a backlog to HAPI and relaying its events; backlog left at the start → end of the busy window):',
      [
        'offered/s',
        'backlog',
        'idle p99 ms',
        'busy p99 ms',
        'busy p50 ms',
        'busy errors',
        'to deliver',
        'to relay',
        'loop delay p99 / max ms (idle, busy)',
      ],
      (results.busy ?? []).map((run) => [
        run.busy.offeredRps,
        run.backlog,
        run.idle.p99Ms,
        run.busy.p99Ms,
        run.busy.p50Ms,
        run.busy.errors,
        `${run.progress.start.deliveryBacklog} → ${run.progress.end.deliveryBacklog}`,
        `${run.progress.start.relayBacklog} → ${run.progress.end.relayBacklog}`,
        `${loopDelay(run.idle)}, ${loopDelay(run.busy)}`,
      ]),
    ),
    ...section(
      "Mapping + validation in process, with the service's Node flags (µs per input):",
      ['kind', 'fixtures', 'validate µs', 'map µs', 'total µs'],
      results.mapping.map((run) => [run.kind, run.fixtures, run.validateMicros, run.mapMicros, run.totalMicros]),
    ),
    ...section(
      'Recording import, parse + find the structure (CPU ms per hour of 1 Hz recording):',
      ['format', 'samples', 'file bytes', 'parse ms/h', 'detect ms/h', 'total ms/h'],
      (results.recording ?? []).map((run) => [
        run.format,
        run.samples,
        run.fileBytes,
        run.parseMsPerHour,
        run.detectMsPerHour,
        run.totalMsPerHour,
      ]),
    ),
    ...section(
      'Targets:',
      ['target', 'measured', 'against', 'met'],
      results.targets.map((verdict) => [
        verdict.target,
        verdict.measured,
        verdict.against,
        verdict.met === null ? 'not run' : verdict.met ? 'yes' : 'NO',
      ]),
    ),
  ].join('\n');
}

/** One client's row of the overloaded-EHR table: its rate beside what the door let in and refused. */
function overloadRow(
  client: string,
  inFlight: number,
  figures: EndToEndFigures,
  ratio: number,
  door: OverloadFigures['direct']['door'],
): (string | number)[] {
  return [
    client,
    inFlight,
    figures.n,
    figures.perSecond,
    ratio,
    door.refused,
    round(door.refused / figures.n, 2),
    door.mostInFlight,
    figures.failed,
  ];
}

/** The service's event-loop delay over an accept window (empty for results from before it was read). */
function loopDelay(run: AcceptFigures): string {
  return run.eventLoopDelay === undefined ? '' : `${run.eventLoopDelay.p99Ms} / ${run.eventLoopDelay.maxMs}`;
}
