/**
 * FIT files (Garmin, Polar, Wahoo, Suunto export) read with Garmin's own FIT SDK. Only record,
 * lap, session, file id and device info messages are looked at; the user profile, positions and
 * serial numbers stay in the SDK's output and are never copied.
 */
import { Decoder, Stream } from '@garmin/fitsdk';
import {
  checkedRecording,
  finiteOrUndefined,
  plausibleHeartRate,
  unusableRecording,
  type Recording,
  type RecordingLap,
  type RecordingLimits,
  type RecordingSample,
} from './recording.ts';

type FitMessage = Readonly<Record<string, unknown>>;

export function parseFit(bytes: Uint8Array, limits: RecordingLimits): Recording {
  const stream = Stream.fromByteArray(Array.from(bytes));
  if (!Decoder.isFIT(stream)) throw unusableRecording('not-fit', 'The file is not a FIT file (no ".FIT" header).');
  const decoder = new Decoder(stream);
  // The CRC and the declared size catch a file cut short in transfer or damaged on the way.
  if (!decoder.checkIntegrity()) {
    throw unusableRecording(
      'corrupt',
      'The FIT file is damaged or cut short (its size or checksum does not match); export it again from the watch.',
    );
  }
  const { messages, errors } = decoder.read({ includeUnknownData: false, mergeHeartRates: true });
  if (errors.length > 0) {
    throw unusableRecording('corrupt', 'The FIT file could not be read to the end; export it again from the watch.');
  }
  const records = list(messages.recordMesgs);
  const start = firstDate(list(messages.sessionMesgs)[0]?.startTime, records[0]?.timestamp);
  if (start === undefined) throw unusableRecording('no-samples', 'The FIT file holds no timed samples.');
  const t = (value: unknown): number | undefined =>
    value instanceof Date ? (value.getTime() - start.getTime()) / 1000 : undefined;

  const samples: RecordingSample[] = [];
  for (const record of records) {
    const at = t(record.timestamp);
    if (at === undefined || at < 0) continue;
    const hr = plausibleHeartRate(record.heartRate);
    const speed = finiteOrUndefined(record.enhancedSpeed ?? record.speed);
    const power = finiteOrUndefined(record.power);
    samples.push({
      t: at,
      ...(hr === undefined ? {} : { hr }),
      ...(speed === undefined ? {} : { speed }),
      ...(power === undefined ? {} : { power }),
    });
  }
  samples.sort((a, b) => a.t - b.t);

  const laps: RecordingLap[] = [];
  for (const lap of list(messages.lapMesgs)) {
    const startT = t(lap.startTime);
    const durationS = finiteOrUndefined(lap.totalElapsedTime);
    if (startT === undefined || durationS === undefined || durationS <= 0) continue;
    laps.push({ startT, durationS, device: deviceHeartRate(lap) });
  }
  laps.sort((a, b) => a.startT - b.startT);

  const session = list(messages.sessionMesgs)[0];
  const elapsedS = finiteOrUndefined(session?.totalElapsedTime);
  return checkedRecording(
    {
      format: 'fit',
      startedAt: start,
      samples,
      laps,
      device: deviceName(list(messages.deviceInfoMesgs)[0] ?? list(messages.fileIdMesgs)[0]),
      sport: sportName(session),
      totals: {
        ...(session === undefined ? {} : deviceHeartRate(session)),
        ...(elapsedS === undefined ? {} : { elapsedS }),
      },
    },
    limits,
  );
}

function list(value: unknown): FitMessage[] {
  return Array.isArray(value) ? (value as FitMessage[]) : [];
}

function firstDate(...values: unknown[]): Date | undefined {
  return values.find((value): value is Date => value instanceof Date && Number.isFinite(value.getTime()));
}

function deviceHeartRate(message: FitMessage): { meanHr?: number; peakHr?: number } {
  const meanHr = plausibleHeartRate(message.avgHeartRate);
  const peakHr = plausibleHeartRate(message.maxHeartRate);
  return { ...(meanHr === undefined ? {} : { meanHr }), ...(peakHr === undefined ? {} : { peakHr }) };
}

function deviceName(message: FitMessage | undefined): string | undefined {
  if (message === undefined) return undefined;
  const parts = [message.manufacturer, message.garminProduct ?? message.productName ?? message.product]
    .filter((part) => typeof part === 'string' || typeof part === 'number')
    .map(String);
  return parts.length === 0 ? undefined : parts.join(' ').slice(0, 100);
}

function sportName(session: FitMessage | undefined): string | undefined {
  if (session === undefined || typeof session.sport !== 'string') return undefined;
  return typeof session.subSport === 'string' && session.subSport !== 'generic'
    ? `${session.sport}/${session.subSport}`
    : session.sport;
}
