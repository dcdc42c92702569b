/**
 * The bench's verdicts: each target judged against its own limit (or the peer measured beside it),
 * the limit shown beside the figure, and "not run" rather than a verdict when a part was left out.
 */
import { evaluateTargets, renderTable, type BenchResults } from '../../../bench/lib/report.ts';

const machine = {
  cores: 2,
  cpu: 'test',
  memoryGB: 24,
  loadAverageAtStart: [0, 0, 0],
  loadAverageAtEnd: [0, 0, 0],
  node: 'v24',
};
const versions = { hapi: 'HAPI 8', postgres: '15', kafka: '4.4' };

function accept(store: 'sqlite' | 'postgres', p99Ms: number, peakRssMB: number) {
  return {
    store,
    offeredRps: 1000,
    seconds: 10,
    achievedRps: 1000,
    accepted: 10_000,
    p50Ms: 2,
    p99Ms,
    maxMs: p99Ms + 5,
    errors: 0,
    cpuSecondsPer1000: 0.3,
    peakRssMB,
  };
}

function startup(medianReadyMs: number, medianIdleRssMB: number) {
  return {
    variant: 'built JS',
    runs: 5,
    settleMs: 2000,
    medianReadyMs,
    maxReadyMs: medianReadyMs + 100,
    medianIdleRssMB,
    maxIdleRssMB: medianIdleRssMB + 1,
    readyMs: [],
    idleRssMB: [],
  };
}

function results(overrides: Partial<BenchResults> = {}): BenchResults {
  return { machine, versions, startup: [], mapping: [], accept: [], endToEnd: [], relay: [], ...overrides };
}

const verdict = (all: ReturnType<typeof evaluateTargets>, target: string) => all.find((each) => each.target === target);

describe('bench targets', () => {
  it('judges accept p99 per store against its own limit (10 ms embedded, 15 ms PostgreSQL), with the limit beside the figure', () => {
    const verdicts = evaluateTargets(results({ accept: [accept('sqlite', 12, 120), accept('postgres', 12, 120)] }));
    expect(verdict(verdicts, 'accept p99 at 1,000 req/s (embedded store)')).toMatchObject({
      measured: expect.stringContaining('12 ms') as unknown,
      against: '≤ 10 ms, no errors',
      met: false,
    });
    expect(verdict(verdicts, 'accept p99 at 1,000 req/s (PostgreSQL)')).toMatchObject({
      against: '≤ 15 ms, no errors',
      met: true,
    });
  });

  it('names the store commit floor measured in the same run beside the accept p99, and their ratio', () => {
    const floor = { offeredRps: 1000, accepted: 10_000, p50Ms: 1, p99Ms: 4, maxMs: 6, errors: 0 };
    const verdicts = evaluateTargets(results({ accept: [{ ...accept('sqlite', 12, 120), floor }] }));
    expect(verdict(verdicts, 'accept p99 at 1,000 req/s (embedded store)')?.against).toBe(
      '≤ 10 ms, no errors; store commit floor p99 4 ms, accept / floor 3×',
    );
  });

  it('judges start-up and idle RSS of the built JavaScript against 1.5 s and 100 MB', () => {
    const fast = evaluateTargets(results({ startup: [startup(800, 99)] }));
    expect(verdict(fast, 'start-up: spawn to /readyz 200 (embedded store, built JS)')?.met).toBe(true);
    expect(verdict(fast, 'idle RSS after start (embedded store, built JS)')?.met).toBe(true);
    const slow = evaluateTargets(results({ startup: [startup(1600, 101)] }));
    expect(verdict(slow, 'start-up: spawn to /readyz 200 (embedded store, built JS)')?.met).toBe(false);
    expect(verdict(slow, 'idle RSS after start (embedded store, built JS)')).toMatchObject({
      measured: expect.stringContaining('101 MB') as unknown,
      against: 'median ≤ 100 MB',
      met: false,
    });
  });

  it('judges relay and end to end against 0.95× the peer measured in the same run, naming the peer figure', () => {
    const relay = (ratio: number) => ({
      store: 'sqlite',
      ratio,
      relayPerSecond: 950,
      barePerSecond: 1000,
      spread: { ratio: [0.9, 1.1] },
    });
    const relayVerdict = (ratio: number) =>
      verdict(evaluateTargets(results({ relay: [relay(ratio) as never] })), 'relay into Kafka (sqlite outbox)');
    expect(relayVerdict(0.95)).toMatchObject({
      measured: '0.95× (950/s; rounds 0.9–1.1×)',
      against: '≥ 0.95× bare kafkajs (1000/s)',
      met: true,
    });
    expect(relayVerdict(0.94)?.met).toBe(false);
    const endToEnd = (ratio: number) => ({
      name: 'embedded',
      ratio,
      direct: { perSecond: 20 },
      bridge: { perSecond: 20 * ratio },
    });
    const e2eVerdict = (ratio: number) =>
      verdict(evaluateTargets(results({ endToEnd: [endToEnd(ratio) as never] })), 'end to end into HAPI (embedded)');
    expect(e2eVerdict(0.96)).toMatchObject({ against: '≥ 0.95× direct (20/s)', met: true });
    expect(e2eVerdict(0.9)?.met).toBe(false);
    const bracketed = { ...endToEnd(0.96), directAfter: { perSecond: 18 } };
    expect(
      verdict(evaluateTargets(results({ endToEnd: [bracketed as never] })), 'end to end into HAPI (embedded)'),
    ).toMatchObject({ against: '≥ 0.95× direct (20/s, 18/s)' });
  });

  it('shows the overloaded EHR case as a table of the direct client and both bridge limits, and judges no target by it', () => {
    const door = (refused: number) => ({ forwarded: 60, refused, mostInFlight: 2 });
    const direct = (perSecond: number) => ({ n: 60, concurrency: 2, seconds: 60 / perSecond, perSecond, failed: 0 });
    const bridge = (adaptive: boolean, perSecond: number, refused: number) => ({
      adaptive,
      bridge: { ...direct(perSecond), concurrency: 8, cpuSecondsPer1000: 1, peakRssMB: 100 },
      door: door(refused),
      ratio: perSecond / 5,
    });
    const overload = {
      capacity: 2,
      concurrency: 8,
      n: 60,
      direct: { ...direct(5), door: door(0) },
      directAfter: { ...direct(5), door: door(0) },
      runs: [bridge(false, 0.5, 80), bridge(true, 4, 15)],
    };
    const measured = results({ overload: [overload] });
    expect(evaluateTargets(measured)).toEqual(evaluateTargets(results()));
    const text = renderTable({ ...measured, targets: [] });
    expect(text).toContain('Delivery into an overloaded EHR');
    const rows = text.split('\n').filter((line) => line.startsWith('| bridge,') || line.startsWith('| direct client,'));
    expect(rows).toHaveLength(4);
    expect(rows[2]).toMatch(/^\| bridge, fixed .*\| 8 +\| 60 +\| 0\.5 +\| 0\.1 +\| 80 +\| 1\.33/);
    expect(rows[3]).toMatch(/^\| bridge, adaptive .*\| 8 +\| 60 +\| 4 +\| 0\.8 +\| 15 +\| 0\.25/);
  });

  it('says "not run" for what the run left out, and renders only the tables it measured', () => {
    const verdicts = evaluateTargets(results());
    expect(verdicts.every((each) => each.met === null && each.measured === 'not run')).toBe(true);
    const text = renderTable({ ...results({ startup: [startup(800, 99)] }), targets: verdicts });
    expect(text).toContain('Start-up on the embedded store');
    expect(text).not.toContain('Accept path');
    expect(text).not.toContain('overloaded EHR');
    expect(text).toContain('| target');
  });
});
