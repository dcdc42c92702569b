/**
 * A pulse watch's recording as hit-bridge reads it: the samples and laps it needs to find a 4x4
 * session's structure, and nothing else. Whatever else the file holds about the person — the
 * watch's user profile, names, weight, the GPS track, the device's serial number — is never
 * copied out of the parser, so it cannot be stored, logged or forwarded.
 */
import { Problem } from '../../platform/problem.ts';

export type RecordingFormat = 'fit' | 'tcx';

/** The media types of each format, as the import takes them (also the OpenAPI's). */
export const RECORDING_MEDIA_TYPES: Readonly<Record<RecordingFormat, string>> = {
  fit: 'application/vnd.ant.fit',
  tcx: 'application/vnd.garmin.tcx+xml',
};

export interface RecordingSample {
  /** Seconds from the start of the recording. */
  readonly t: number;
  /** Beats per minute; absent where the sensor gave nothing (a dropout). */
  readonly hr?: number;
  /** Metres per second (treadmill or ground speed). */
  readonly speed?: number;
  /** Watts (cycle ergometer, rowing machine). */
  readonly power?: number;
}

/** A lap the watch recorded (the lap button, or the device's auto-lap), with its own totals where it kept them. */
export interface RecordingLap {
  readonly startT: number;
  readonly durationS: number;
  readonly device: DeviceHeartRate;
}

interface DeviceHeartRate {
  readonly meanHr?: number;
  readonly peakHr?: number;
}

export interface Recording {
  readonly format: RecordingFormat;
  readonly startedAt: Date;
  /** In time order, t ≥ 0. */
  readonly samples: readonly RecordingSample[];
  readonly laps: readonly RecordingLap[];
  /** Manufacturer and product, e.g. "garmin fr945"; never a serial number. */
  readonly device: string | undefined;
  /** The sport the watch was set to, e.g. "running/treadmill", "cycling". */
  readonly sport: string | undefined;
  /** The device's own totals for the whole recording, where it wrote them. */
  readonly totals: DeviceHeartRate & { readonly elapsedS?: number };
}

/** Bounds on what one import may hold: a 4x4 session is under an hour, a session at most 6. */
export interface RecordingLimits {
  readonly maxBytes: number;
  readonly maxSamples: number;
  readonly maxDurationS: number;
}

export const DEFAULT_RECORDING_LIMITS: RecordingLimits = {
  maxBytes: 10 * 1024 * 1024,
  // 6 hours at 1 Hz, with room for devices that record faster.
  maxSamples: 6 * 3600 * 4,
  maxDurationS: 6 * 3600,
};

/** A recording that cannot be used, in plain words (422): corrupt, truncated, unknown format, no heart rate, too long. */
export function unusableRecording(rule: string, message: string): Problem {
  return new Problem({
    type: 'https://hit-bridge.no/problems/unusable-recording',
    title: 'The recording cannot be used',
    status: 422,
    detail: message,
    errors: [{ field: '/recording', rule, message }],
  });
}

/** Which format a file is, from its first bytes: ".FIT" at offset 8, or XML. */
export function sniffFormat(bytes: Uint8Array): RecordingFormat | undefined {
  if (bytes.length >= 12 && String.fromCharCode(...bytes.subarray(8, 12)) === '.FIT') return 'fit';
  const head = new TextDecoder()
    .decode(bytes.subarray(0, 512))
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (head.startsWith('<?xml') || head.startsWith('<TrainingCenterDatabase')) return 'tcx';
  return undefined;
}

/** Checks what every parser's result must satisfy, so the detection gets only usable recordings. */
export function checkedRecording(recording: Recording, limits: RecordingLimits): Recording {
  if (recording.samples.length === 0) throw unusableRecording('no-samples', 'The recording holds no samples.');
  if (recording.samples.length > limits.maxSamples) {
    throw unusableRecording(
      'too-many-samples',
      `The recording holds ${recording.samples.length} samples; at most ${limits.maxSamples} are taken.`,
    );
  }
  const last = recording.samples[recording.samples.length - 1];
  if (last !== undefined && last.t > limits.maxDurationS) {
    throw unusableRecording(
      'too-long',
      `The recording lasts ${Math.round(last.t / 60)} minutes; a session is at most ${limits.maxDurationS / 3600} hours.`,
    );
  }
  if (!recording.samples.some((sample) => sample.hr !== undefined)) {
    throw unusableRecording(
      'no-heart-rate',
      'The recording has no heart rate: was the chest strap or wrist sensor on and paired?',
    );
  }
  return recording;
}

/** A heart rate a sensor can really report; anything else is a dropout. */
export function plausibleHeartRate(bpm: unknown): number | undefined {
  return typeof bpm === 'number' && Number.isFinite(bpm) && bpm >= 30 && bpm <= 250 ? bpm : undefined;
}

export function finiteOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
