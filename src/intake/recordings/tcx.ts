/**
 * TCX (Garmin Training Center XML) read with fast-xml-parser. Positions, the athlete's name and
 * anything else in the file are never copied; only times, heart rate, speed and power are.
 */
import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';
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

type Node = Readonly<Record<string, unknown>>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // A TCX has no entities of its own; expanding none closes the door on entity tricks.
  processEntities: false,
  isArray: (name) => ['Activity', 'Lap', 'Track', 'Trackpoint'].includes(name),
});

export function parseTcx(bytes: Uint8Array, limits: RecordingLimits): Recording {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw unusableRecording('not-tcx', 'The TCX file is not UTF-8 text.');
  }
  // A TCX never needs a DOCTYPE; one could declare entities meant to blow up or reach out.
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw unusableRecording('not-tcx', 'The TCX file declares a DOCTYPE or entities, which a TCX file never has.');
  }
  // The parser is lenient (a file cut short parses to fewer points); the validator is not.
  try {
    SyntaxValidator.validate(text);
  } catch {
    throw unusableRecording('corrupt', 'The TCX file is not well-formed XML (damaged or cut short); export it again.');
  }
  const document = parser.parse(text) as Node;
  const database = node(document.TrainingCenterDatabase);
  const activity = nodes(node(database?.Activities)?.Activity)[0];
  if (activity === undefined) throw unusableRecording('not-tcx', 'The file is XML but holds no TCX activity.');

  const lapNodes = nodes(activity.Lap);
  const points = lapNodes.flatMap((lap) => nodes(lap.Track).flatMap((track) => nodes(track.Trackpoint)));
  const times = points.map((point) => dateOf(point.Time));
  const start = dateOf(activity.Id) ?? dateOf(lapNodes[0]?.['@StartTime']) ?? times.find((time) => time !== undefined);
  if (start === undefined) throw unusableRecording('no-samples', 'The TCX file holds no timed samples.');
  const t = (date: Date): number => (date.getTime() - start.getTime()) / 1000;

  const samples: RecordingSample[] = [];
  points.forEach((point, index) => {
    const time = times[index];
    if (time === undefined || t(time) < 0) return;
    const hr = plausibleHeartRate(node(point.HeartRateBpm)?.Value);
    const tpx = node(node(point.Extensions)?.TPX);
    const speed = finiteOrUndefined(tpx?.Speed);
    const power = finiteOrUndefined(tpx?.Watts);
    samples.push({
      t: t(time),
      ...(hr === undefined ? {} : { hr }),
      ...(speed === undefined ? {} : { speed }),
      ...(power === undefined ? {} : { power }),
    });
  });
  samples.sort((a, b) => a.t - b.t);

  const laps: RecordingLap[] = [];
  for (const lap of lapNodes) {
    const lapStart = dateOf(lap['@StartTime']);
    const durationS = finiteOrUndefined(lap.TotalTimeSeconds);
    if (lapStart === undefined || durationS === undefined || durationS <= 0) continue;
    const meanHr = plausibleHeartRate(node(lap.AverageHeartRateBpm)?.Value);
    const peakHr = plausibleHeartRate(node(lap.MaximumHeartRateBpm)?.Value);
    laps.push({
      startT: t(lapStart),
      durationS,
      device: { ...(meanHr === undefined ? {} : { meanHr }), ...(peakHr === undefined ? {} : { peakHr }) },
    });
  }

  const creator = node(activity.Creator);
  const sport = activity['@Sport'];
  return checkedRecording(
    {
      format: 'tcx',
      startedAt: start,
      samples,
      laps,
      device: typeof creator?.Name === 'string' ? creator.Name.slice(0, 100) : undefined,
      sport: typeof sport === 'string' ? sport.toLowerCase() : undefined,
      totals: {},
    },
    limits,
  );
}

function node(value: unknown): Node | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Node) : undefined;
}

function nodes(value: unknown): Node[] {
  return Array.isArray(value) ? value.filter((item): item is Node => node(item) !== undefined) : [];
}

function dateOf(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isFinite(date.getTime()) ? date : undefined;
}
