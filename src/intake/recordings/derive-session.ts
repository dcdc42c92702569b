/**
 * From a recording and what the file does not know (who, which session, which prescription) to
 * the HIT session hit-bridge would have been sent as JSON: the same input, so it is validated,
 * stored, mapped and delivered exactly as a posted session is.
 */
import { detectSessionStructure, type Segment, type SessionStructure } from '../../domain/interval-detection.ts';
import type { Recording } from './recording.ts';

/** Fields that come from the recording: sent in the metadata they would contradict it, so they are refused. */
export const FIELDS_FROM_RECORDING = [
  'startedAt',
  'endedAt',
  'warmUpMinutes',
  'intervals',
  'activePauses',
  'coolDownMinutes',
] as const;

export interface HrMaxUsed {
  readonly bpm: number;
  /** Where it came from: sent with the import, the session's prescription, or the age estimate. */
  readonly from: 'metadata' | 'prescription' | 'age-estimate';
  /** What goes into the session; absent for the age estimate, which the mapping redoes the same way. */
  readonly sessionValue?: { readonly bpm: number; readonly method: 'measured' | 'estimated' };
}

export interface DerivedSession {
  readonly session: Record<string, unknown>;
  readonly structure: SessionStructure;
  /** What the timeline and the preview say about the file (never its content). */
  readonly recording: RecordingSummary;
}

interface RecordingSummary {
  readonly format: Recording['format'];
  readonly device: string | undefined;
  readonly sport: string | undefined;
  readonly samples: number;
  readonly laps: number;
  readonly deviceTotals: Recording['totals'];
  readonly hrMax: { readonly bpm: number; readonly from: HrMaxUsed['from'] };
}

const MAX_PHASE_MINUTES = 60;

export function deriveSession(
  recording: Recording,
  metadata: Readonly<Record<string, unknown>>,
  hrMax: HrMaxUsed,
): DerivedSession {
  const strength = metadata.modality === 'strength';
  const protocol = metadata.protocol ?? '4x4';
  const structure = detectSessionStructure(recording.samples, recording.laps, {
    hrMaxBpm: hrMax.bpm,
    lookForIntervals: !strength,
    expectedIntervals: !strength && protocol === '4x4' ? 4 : undefined,
  });
  const endedAtS = Math.max(structure.durationS, Math.round(recording.totals.elapsedS ?? 0), 1);
  const intervals = structure.intervals.filter((segment) => segment.durationS >= 10).slice(0, 30);
  const pauses = structure.activePauses.filter((segment) => segment.durationS >= 10).slice(0, 30);
  const session: Record<string, unknown> = {
    ...metadata,
    protocol,
    startedAt: isoSeconds(recording.startedAt),
    endedAt: isoSeconds(new Date(recording.startedAt.getTime() + endedAtS * 1000)),
    ...(hrMax.sessionValue === undefined || metadata.hrMax !== undefined ? {} : { hrMax: hrMax.sessionValue }),
    ...phaseMinutes('warmUpMinutes', structure.warmUp),
    ...(intervals.length === 0 ? {} : { intervals: intervals.map(intervalOf) }),
    ...(pauses.length === 0 ? {} : { activePauses: pauses.map(pauseOf) }),
    ...phaseMinutes('coolDownMinutes', structure.coolDown),
  };
  return {
    session,
    structure,
    recording: {
      format: recording.format,
      device: recording.device,
      sport: recording.sport,
      samples: recording.samples.length,
      laps: recording.laps.length,
      deviceTotals: recording.totals,
      hrMax: { bpm: hrMax.bpm, from: hrMax.from },
    },
  };
}

function intervalOf(segment: Segment): Record<string, unknown> {
  const speedKmh = segment.meanSpeed === undefined ? undefined : Math.round(segment.meanSpeed * 36) / 10;
  return {
    durationSeconds: Math.min(1800, Math.round(segment.durationS)),
    ...(segment.meanHr === undefined ? {} : { meanHr: Math.round(segment.meanHr) }),
    ...(segment.peakHr === undefined || segment.meanHr === undefined
      ? {}
      : { peakHr: Math.max(segment.peakHr, Math.round(segment.meanHr)) }),
    ...(segment.secondsInZone === undefined
      ? {}
      : { secondsInZone: Math.min(segment.secondsInZone, Math.round(segment.durationS)) }),
    ...(speedKmh === undefined || speedKmh > 40 ? {} : { speedKmh }),
  };
}

function pauseOf(segment: Segment): Record<string, unknown> {
  return {
    durationSeconds: Math.min(1800, Math.round(segment.durationS)),
    ...(segment.meanHr === undefined ? {} : { meanHr: Math.round(segment.meanHr) }),
  };
}

function phaseMinutes(field: string, segment: Segment | undefined): Record<string, number> {
  if (segment === undefined) return {};
  const minutes = Math.round(segment.durationS / 6) / 10;
  return minutes > MAX_PHASE_MINUTES ? {} : { [field]: minutes };
}

function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
