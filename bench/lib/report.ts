/** The bench's figures as a plain-text table, and the targets judged against them. */
import type { AcceptFigures } from './accept.ts';
import type { BridgeFigures, EndToEndFigures } from './end-to-end.ts';
import type { MappingFigures } from './mapping.ts';
import type { RecordingFigures } from './recording.ts';
import type { RelayFigures } from './relay.ts';

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
  mapping: MappingFigures[];
  /** Absent in results written before the recording import existed. */
  recording?: RecordingFigures[];
  accept: AcceptFigures[];
  endToEnd: {
    readonly name: string;
    readonly direct: EndToEndFigures;
    readonly bridge: BridgeFigures;
    readonly ratio: number;
  }[];
  relay: RelayFigures[];
}

export interface TargetVerdict {
  readonly target: string;
  readonly measured: string;
  /** null when the run did not measure it (e.g. a rate left out by BENCH_ACCEPT_RATES). */
  readonly met: boolean | null;
}

export function evaluateTargets(results: BenchResults): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  for (const run of results.endToEnd) {
    verdicts.push({
      target: `bridge end to end ≥ 0.9× direct to HAPI (${run.name})`,
      measured: `${run.ratio}× (${run.bridge.perSecond}/s vs ${run.direct.perSecond}/s)`,
      met: run.ratio >= 0.9,
    });
  }
  for (const run of results.relay) {
    verdicts.push({
      target: `relay ≥ 0.9× bare kafkajs (${run.store} outbox)`,
      measured: `${run.ratio}× (${run.relayPerSecond}/s vs ${run.barePerSecond}/s)`,
      met: run.ratio >= 0.9,
    });
  }
  const at1000 = results.accept.find((run) => run.store === 'sqlite' && run.offeredRps === 1000);
  verdicts.push({
    target: 'accept p99 ≤ 25 ms at 1,000 req/s (embedded defaults)',
    measured:
      at1000 === undefined
        ? 'not run'
        : `${at1000.p99Ms} ms (achieved ${at1000.achievedRps}/s, ${at1000.errors} errors)`,
    met: at1000 === undefined ? null : at1000.p99Ms <= 25 && at1000.errors === 0,
  });
  const sessions = results.mapping.find((figures) => figures.kind === 'hit-sessions');
  verdicts.push({
    target: 'mapping + validation ≤ 100 µs per session',
    measured: sessions === undefined ? 'not run' : `${sessions.totalMicros} µs`,
    met: sessions === undefined ? null : sessions.totalMicros <= 100,
  });
  verdicts.push({
    target: 'peak RSS ≤ 200 MB under 1,000 req/s (embedded defaults)',
    measured: at1000 === undefined ? 'not run' : `${at1000.peakRssMB} MB`,
    met: at1000 === undefined ? null : at1000.peakRssMB <= 200,
  });
  return verdicts;
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

/** Markdown tables, so the same text goes into the README. */
export function renderTable(results: BenchResults & { readonly targets: readonly TargetVerdict[] }): string {
  const { machine, versions } = results;
  return [
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGB} GB; load average ${machine.loadAverageAtStart.join(' ')} at start, ${machine.loadAverageAtEnd.join(' ')} at end. Node ${machine.node}; ${versions.hapi}; Kafka ${versions.kafka}; PostgreSQL ${versions.postgres}.`,
    '',
    'Accept path (POST /v1/hit-sessions, a new session each request):',
    '',
    table(
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
        'floor p50 / p99 ms',
        'p99 / floor',
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
        run.floor === undefined ? '' : `${run.floor.p50Ms} / ${run.floor.p99Ms}`,
        run.floor === undefined ? '' : `${Math.round((run.p99Ms / run.floor.p99Ms) * 10) / 10}×`,
      ]),
    ),
    '',
    'End to end into HAPI (same N Bundles, same client concurrency; direct run right before the bridge run):',
    '',
    table(
      [
        'bridge setup',
        'N',
        'conc.',
        'direct/s',
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
        run.direct.perSecond,
        run.bridge.perSecond,
        run.ratio,
        run.direct.failed + run.bridge.failed,
        run.bridge.cpuSecondsPer1000,
        run.bridge.peakRssMB,
      ]),
    ),
    '',
    'Event relay into Kafka (rounds alternate relay and bare kafkajs):',
    '',
    table(
      ['outbox', 'N × rounds', 'batch', 'value bytes', 'relay/s', 'bare kafkajs/s', 'ratio'],
      results.relay.map((run) => [
        run.store,
        `${run.n} × ${run.rounds.length}`,
        run.batch,
        run.valueBytes,
        run.relayPerSecond,
        run.barePerSecond,
        run.ratio,
      ]),
    ),
    '',
    'Mapping + validation in process (µs per input):',
    '',
    table(
      ['kind', 'fixtures', 'validate µs', 'map µs', 'total µs'],
      results.mapping.map((run) => [run.kind, run.fixtures, run.validateMicros, run.mapMicros, run.totalMicros]),
    ),
    '',
    'Recording import, parse + find the structure (CPU ms per hour of 1 Hz recording):',
    '',
    table(
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
    '',
    'Targets:',
    '',
    table(
      ['target', 'measured', 'met'],
      results.targets.map((verdict) => [
        verdict.target,
        verdict.measured,
        verdict.met === null ? 'not run' : verdict.met ? 'yes' : 'NO',
      ]),
    ),
  ].join('\n');
}
