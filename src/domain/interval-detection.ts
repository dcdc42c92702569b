import { heartRateZones } from './heart-rate.ts';

// Finding a 4x4 session's structure in a heart-rate recording: warm-up, work intervals, active
// pauses, cool-down, and per interval the figures a therapist reads (mean and peak heart rate,
// time at 85–95 % of HRmax). Pure: samples in, structure out.
//
// Order of preference, most trustworthy first:
// 1. laps, when the watch's laps look like a 4x4 (work laps of 2–8 minutes, each clearly harder
//    than the laps beside it);
// 2. speed or power, when the recording has them and they step up and down: effort changes at
//    once on a treadmill or ergometer, so its edges are the interval's edges;
// 3. heart rate alone. Heart rate lags effort by tens of seconds, so an interval's edges are
//    taken where the pulse leaves its trough (start) and leaves its plateau (end), not where it
//    crosses a threshold.

export interface TraceSample {
  /** Seconds from the start of the recording. */
  readonly t: number;
  readonly hr?: number;
  readonly speed?: number;
  readonly power?: number;
}

export interface TraceLap {
  readonly startT: number;
  readonly durationS: number;
}

export interface DetectionOptions {
  readonly hrMaxBpm: number;
  /** False for a strength session: its sets are too short to be intervals, and none are looked for. */
  readonly lookForIntervals: boolean;
  /** 4 for a 4x4 session; undefined when any number is fine. */
  readonly expectedIntervals: number | undefined;
}

export interface Segment {
  readonly startT: number;
  readonly endT: number;
  readonly durationS: number;
  readonly meanHr: number | undefined;
  readonly peakHr: number | undefined;
  readonly secondsInZone: number | undefined;
  /** Metres per second, where the recording has speed. */
  readonly meanSpeed: number | undefined;
  readonly meanPower: number | undefined;
}

type DetectionMethod = 'laps' | 'speed' | 'power' | 'heart-rate' | 'none';

interface DetectionFlag {
  readonly code:
    'interval-count' | 'no-intervals' | 'peak-above-hrmax' | 'never-in-zone' | 'dropouts' | 'spikes' | 'laps-not-4x4';
  readonly message: string;
}

export interface SessionStructure {
  readonly method: DetectionMethod;
  readonly confidence: 'high' | 'medium' | 'low';
  readonly zone: { readonly lowBpm: number; readonly highBpm: number };
  readonly warmUp: Segment | undefined;
  readonly intervals: readonly Segment[];
  readonly activePauses: readonly Segment[];
  readonly coolDown: Segment | undefined;
  readonly durationS: number;
  readonly peakHr: number | undefined;
  readonly spikesRemoved: number;
  readonly dropoutSeconds: number;
  readonly flags: readonly DetectionFlag[];
}

/** A reading this far from its neighbours' median is a spike (a strap losing contact, static), not a heartbeat. */
const SPIKE_BPM = 20;
const SPIKE_WINDOW = 5;
/** Gaps up to this long are bridged by a straight line; longer ones count as missing. */
const MAX_BRIDGED_GAP_S = 30;
const SMOOTH_WINDOW_S = 15;
/** How close to its trough or plateau the smoothed pulse must be to count as still there. */
const EDGE_BPM = 3;
const MIN_EFFORT_INTERVAL_S = 60;
const MIN_PULSE_INTERVAL_S = 90;
const MERGE_GAP_S = 20;
const WORK_LAP_S = { low: 120, high: 480 } as const;
const WORK_LAP_MARGIN_BPM = 5;

export function detectSessionStructure(
  samples: readonly TraceSample[],
  laps: readonly TraceLap[],
  options: DetectionOptions,
): SessionStructure {
  const zones = heartRateZones(options.hrMaxBpm);
  const zone = { lowBpm: zones.interval.lowBpm, highBpm: zones.interval.highBpm };
  const durationS = Math.max(0, Math.floor(samples[samples.length - 1]?.t ?? 0));
  const { cleaned, spikes } = withoutSpikes(samples);
  const hr = gridOf(cleaned, durationS, (sample) => sample.hr, MAX_BRIDGED_GAP_S);
  const dropoutSeconds = hr.filter((value) => value === undefined).length;
  const figures = (startT: number, endT: number): Segment => segmentFigures(samples, hr, zone, startT, endT);

  let method: DetectionMethod = 'none';
  let windows: [number, number][] = [];
  const flags: DetectionFlag[] = [];
  if (options.lookForIntervals) {
    const fromLaps = workLaps(laps, hr);
    if (fromLaps !== undefined) {
      method = 'laps';
      windows = fromLaps;
    } else {
      if (laps.length > 1) {
        flags.push({
          code: 'laps-not-4x4',
          message: 'The watch recorded laps, but they do not look like a 4x4; the intervals were found in the signal.',
        });
      }
      const effort = effortSignal(samples, durationS);
      if (effort !== undefined) {
        method = effort.kind;
        windows = thresholdRegions(effort.grid, MIN_EFFORT_INTERVAL_S);
      } else {
        method = 'heart-rate';
        windows = pulseIntervals(hr, options.expectedIntervals);
      }
    }
  }

  const intervals = windows.map(([startT, endT]) => figures(startT, endT));
  const activePauses = intervals.slice(1).map((next, index) => figures(intervals[index]?.endT ?? 0, next.startT));
  const first = intervals[0];
  const last = intervals[intervals.length - 1];
  const warmUp = first !== undefined && first.startT > 0 ? figures(0, first.startT) : undefined;
  const coolDown = last !== undefined && last.endT < durationS ? figures(last.endT, durationS) : undefined;
  const peakHr = robustPeak(hr, 0, durationS);

  if (options.lookForIntervals && intervals.length === 0) {
    flags.push({ code: 'no-intervals', message: 'No work intervals were found in the recording.' });
  } else if (options.expectedIntervals !== undefined && intervals.length !== options.expectedIntervals) {
    flags.push({
      code: 'interval-count',
      message: `${intervals.length} interval${intervals.length === 1 ? '' : 's'} found, expected ${options.expectedIntervals}.`,
    });
  }
  intervals.forEach((interval, index) => {
    if (interval.secondsInZone === 0) {
      flags.push({
        code: 'never-in-zone',
        message: `Interval ${index + 1} never reached the zone (${zone.lowBpm}–${zone.highBpm} bpm).`,
      });
    }
  });
  if (peakHr !== undefined && peakHr > options.hrMaxBpm) {
    flags.push({
      code: 'peak-above-hrmax',
      message: `Peak ${peakHr} bpm is above HRmax ${options.hrMaxBpm} bpm: HRmax is probably underestimated.`,
    });
  }
  if (durationS > 0 && dropoutSeconds / durationS > 0.05) {
    flags.push({
      code: 'dropouts',
      message: `Heart rate is missing for ${dropoutSeconds} s (${Math.round((100 * dropoutSeconds) / durationS)} %) of the recording.`,
    });
  }
  if (spikes > 0) {
    flags.push({
      code: 'spikes',
      message: `${spikes} heart-rate reading${spikes === 1 ? ' was' : 's were'} ignored as spikes.`,
    });
  }

  return {
    method,
    confidence: confidenceOf(method, intervals.length, options, dropoutSeconds / Math.max(1, durationS)),
    zone,
    warmUp,
    intervals,
    activePauses,
    coolDown,
    durationS,
    peakHr,
    spikesRemoved: spikes,
    dropoutSeconds,
    flags,
  };
}

function confidenceOf(
  method: DetectionMethod,
  found: number,
  options: DetectionOptions,
  dropoutShare: number,
): SessionStructure['confidence'] {
  if (!options.lookForIntervals) return dropoutShare > 0.2 ? 'medium' : 'high';
  const countFits = options.expectedIntervals === undefined ? found > 0 : found === options.expectedIntervals;
  if (!countFits || dropoutShare > 0.2) return 'low';
  return method === 'heart-rate' || dropoutShare > 0.05 ? 'medium' : 'high';
}

// ---------------------------------------------------------------------------------------------
// Cleaning and the 1-second grid

function withoutSpikes(samples: readonly TraceSample[]): { cleaned: TraceSample[]; spikes: number } {
  const withHr = samples.filter((sample) => sample.hr !== undefined);
  const half = Math.floor(SPIKE_WINDOW / 2);
  let spikes = 0;
  const cleaned = withHr.filter((sample, index) => {
    const around: number[] = [];
    for (let other = index - half - 1; other <= index + half + 1; other++) {
      const value = withHr[other]?.hr;
      if (other !== index && value !== undefined) around.push(value);
    }
    const keep = around.length < 2 || Math.abs((sample.hr ?? 0) - median(around)) <= SPIKE_BPM;
    if (!keep) spikes++;
    return keep;
  });
  return { cleaned, spikes };
}

/** One value a second from 0 to durationS (exclusive), linear between samples at most `bridge` seconds apart. */
function gridOf(
  samples: readonly TraceSample[],
  durationS: number,
  read: (sample: TraceSample) => number | undefined,
  bridge: number,
): (number | undefined)[] {
  const points = samples.flatMap((sample) => {
    const value = read(sample);
    return value === undefined ? [] : [{ t: sample.t, value }];
  });
  const grid: (number | undefined)[] = new Array<number | undefined>(durationS).fill(undefined);
  let next = 0;
  for (let second = 0; second < durationS; second++) {
    while (next < points.length && (points[next]?.t ?? Infinity) < second) next++;
    const after = points[next];
    const before = points[next - 1];
    if (after !== undefined && after.t === second) grid[second] = after.value;
    else if (before !== undefined && after !== undefined && after.t - before.t <= bridge) {
      grid[second] = before.value + ((after.value - before.value) * (second - before.t)) / (after.t - before.t);
    } else if (after !== undefined && before === undefined && after.t - second <= 2) grid[second] = after.value;
    else if (before !== undefined && after === undefined && second - before.t <= 2) grid[second] = before.value;
  }
  return grid;
}

/** Every gap filled (straight lines, flat at the ends) and a centred moving average: for finding edges, never for figures. */
function smoothed(grid: readonly (number | undefined)[], window: number): number[] {
  const filled = fillGaps(grid);
  const half = Math.floor(window / 2);
  const prefix = [0];
  for (const value of filled) prefix.push((prefix[prefix.length - 1] ?? 0) + value);
  return filled.map((_, index) => {
    const from = Math.max(0, index - half);
    const to = Math.min(filled.length, index + half + 1);
    return ((prefix[to] ?? 0) - (prefix[from] ?? 0)) / (to - from);
  });
}

function fillGaps(grid: readonly (number | undefined)[]): number[] {
  const known = grid.flatMap((value, index) => (value === undefined ? [] : [index]));
  if (known.length === 0) return grid.map(() => 0);
  let cursor = 0;
  return grid.map((value, index) => {
    if (value !== undefined) return value;
    while (cursor < known.length - 1 && (known[cursor + 1] ?? 0) < index) cursor++;
    const left = known[cursor] ?? 0;
    const right = known[cursor + 1];
    if (index < left || right === undefined) return grid[index < left ? left : (known[known.length - 1] ?? 0)] ?? 0;
    const a = grid[left] ?? 0;
    const b = grid[right] ?? 0;
    return a + ((b - a) * (index - left)) / (right - left);
  });
}

// ---------------------------------------------------------------------------------------------
// The three ways to find the intervals

function workLaps(laps: readonly TraceLap[], hr: readonly (number | undefined)[]): [number, number][] | undefined {
  if (laps.length < 3) return undefined;
  const means = laps.map((lap) => meanOver(hr, lap.startT, lap.startT + lap.durationS));
  const work: [number, number][] = [];
  laps.forEach((lap, index) => {
    const mean = means[index];
    if (mean === undefined || lap.durationS < WORK_LAP_S.low || lap.durationS > WORK_LAP_S.high) return;
    const before = means[index - 1];
    const after = means[index + 1];
    const harder = (other: number | undefined): boolean => other === undefined || mean - other >= WORK_LAP_MARGIN_BPM;
    if (harder(before) && harder(after)) work.push([Math.round(lap.startT), Math.round(lap.startT + lap.durationS)]);
  });
  return work.length >= 2 ? work : undefined;
}

function effortSignal(
  samples: readonly TraceSample[],
  durationS: number,
): { kind: 'speed' | 'power'; grid: number[] } | undefined {
  for (const [kind, read, minimumStep] of [
    ['speed', (sample: TraceSample) => sample.speed, 0.4],
    ['power', (sample: TraceSample) => sample.power, 30],
  ] as const) {
    const present = samples.filter((sample) => read(sample) !== undefined).length;
    if (present < samples.length / 2) continue;
    const grid = smoothed(gridOf(samples, durationS, read, MAX_BRIDGED_GAP_S), 5);
    const sorted = [...grid].sort((a, b) => a - b);
    if (quantile(sorted, 0.9) - quantile(sorted, 0.15) >= minimumStep) return { kind, grid };
  }
  return undefined;
}

/** Stretches above the midpoint between the signal's low and high levels, short dips merged, short bursts dropped. */
function thresholdRegions(signal: readonly number[], minimumS: number): [number, number][] {
  const sorted = [...signal].sort((a, b) => a - b);
  const threshold = (quantile(sorted, 0.15) + quantile(sorted, 0.9)) / 2;
  const regions: [number, number][] = [];
  let start: number | undefined;
  signal.forEach((value, index) => {
    if (value >= threshold && start === undefined) start = index;
    if ((value < threshold || index === signal.length - 1) && start !== undefined) {
      const end = value < threshold ? index : index + 1;
      const previous = regions[regions.length - 1];
      if (previous !== undefined && start - previous[1] < MERGE_GAP_S) previous[1] = end;
      else regions.push([start, end]);
      start = undefined;
    }
  });
  return regions.filter(([from, to]) => to - from >= minimumS);
}

function pulseIntervals(hr: readonly (number | undefined)[], expected: number | undefined): [number, number][] {
  const smooth = smoothed(hr, SMOOTH_WINDOW_S);
  let regions = thresholdRegions(smooth, MIN_PULSE_INTERVAL_S);
  // A pause too short or too hard for the pulse to fall below the threshold joins two intervals into one.
  if (expected !== undefined) regions = regions.flatMap((region) => splitAtDips(smooth, region));
  const edges: [number, number][] = [];
  regions.forEach(([from, to], index) => {
    const floor = edges[index - 1]?.[1] ?? 0;
    const ceiling = regions[index + 1]?.[0] ?? smooth.length;
    edges.push([riseStart(smooth, from, floor), plateauEnd(smooth, from, to, ceiling)]);
  });
  return edges.filter(([from, to]) => to - from >= MIN_PULSE_INTERVAL_S);
}

/**
 * Where the pulse left its trough before the rise: the last second still within EDGE_BPM of the
 * trough's level (a low percentile, so one noisy dip does not set it).
 */
function riseStart(smooth: readonly number[], regionStart: number, floor: number): number {
  const from = Math.max(floor, regionStart - 150);
  const trough = quantile(
    [...smooth.slice(from, regionStart + 1)].sort((a, b) => a - b),
    0.1,
  );
  let start = from;
  for (let second = from; second <= regionStart; second++)
    if ((smooth[second] ?? Infinity) <= trough + EDGE_BPM) start = second;
  return start;
}

/**
 * Where the pulse left its plateau at the end: the last second still within EDGE_BPM of the
 * plateau's level (a high percentile of the interval, so one noisy bump does not set it). The
 * search stops before the next interval's rise, which never gets that high before it crosses
 * the threshold.
 */
function plateauEnd(smooth: readonly number[], regionStart: number, regionEnd: number, ceiling: number): number {
  const to = Math.min(ceiling, regionEnd + 60, smooth.length);
  const plateau = quantile(
    [...smooth.slice(regionStart, regionEnd)].sort((a, b) => a - b),
    0.9,
  );
  let end = regionStart;
  for (let second = regionStart; second < to; second++)
    if ((smooth[second] ?? -Infinity) >= plateau - EDGE_BPM) end = second;
  return Math.min(end + 1, smooth.length);
}

/** Splits a region that holds two intervals at the deepest dip well inside it (at least 5 bpm below both sides). */
function splitAtDips(smooth: readonly number[], [from, to]: [number, number]): [number, number][] {
  const margin = MIN_PULSE_INTERVAL_S;
  if (to - from < 2 * margin + 30) return [[from, to]];
  let dip = from + margin;
  for (let second = from + margin; second < to - margin; second++)
    if ((smooth[second] ?? Infinity) < (smooth[dip] ?? Infinity)) dip = second;
  const leftPeak = Math.max(...smooth.slice(from, dip));
  const rightPeak = Math.max(...smooth.slice(dip, to));
  const depth = Math.min(leftPeak, rightPeak) - (smooth[dip] ?? 0);
  if (depth < 5) return [[from, to]];
  return [...splitAtDips(smooth, [from, dip]), ...splitAtDips(smooth, [dip, to])];
}

// ---------------------------------------------------------------------------------------------
// Figures

function segmentFigures(
  samples: readonly TraceSample[],
  hr: readonly (number | undefined)[],
  zone: { readonly lowBpm: number; readonly highBpm: number },
  startT: number,
  endT: number,
): Segment {
  const meanHr = meanOver(hr, startT, endT);
  const peak = robustPeak(hr, startT, endT);
  let inZone = 0;
  let known = 0;
  for (let second = startT; second < endT; second++) {
    const value = hr[second];
    if (value === undefined) continue;
    known++;
    if (Math.round(value) >= zone.lowBpm && Math.round(value) <= zone.highBpm) inZone++;
  }
  const within = samples.filter((sample) => sample.t >= startT && sample.t < endT);
  return {
    startT,
    endT,
    durationS: endT - startT,
    meanHr: meanHr === undefined ? undefined : round1(meanHr),
    peakHr: peak === undefined || meanHr === undefined ? peak : Math.max(peak, Math.ceil(meanHr)),
    secondsInZone: known === 0 ? undefined : inZone,
    meanSpeed: meanOf(within.map((sample) => sample.speed)),
    meanPower: meanOf(within.map((sample) => sample.power)),
  };
}

function meanOver(grid: readonly (number | undefined)[], startT: number, endT: number): number | undefined {
  let sum = 0;
  let count = 0;
  for (let second = Math.max(0, Math.round(startT)); second < Math.min(grid.length, Math.round(endT)); second++) {
    const value = grid[second];
    if (value === undefined) continue;
    sum += value;
    count++;
  }
  return count === 0 ? undefined : sum / count;
}

/** The highest 5-second median: one stray reading is not a peak. */
function robustPeak(grid: readonly (number | undefined)[], startT: number, endT: number): number | undefined {
  let peak: number | undefined;
  for (let second = startT; second < endT; second++) {
    const around = grid
      .slice(Math.max(startT, second - 2), Math.min(endT, second + 3))
      .filter((value) => value !== undefined);
    if (around.length < 3) continue;
    const value = Math.round(median(around));
    if (peak === undefined || value > peak) peak = value;
  }
  return peak;
}

function meanOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((value): value is number => value !== undefined);
  return known.length === 0 ? undefined : known.reduce((sum, value) => sum + value, 0) / known.length;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))] ?? 0;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
