/**
 * The exercise prescription as the handover needs it, read back from the ServiceRequest the EHR
 * holds (profile hit-exercise-prescription, made by mappings/prescription.ts).
 *
 * All of it is read from structure: the period and the sessions per week from occurrenceTiming,
 * each component's dose (HRmax, zones, sets × repetitions, %1RM, exercises) from the extension on
 * its orderDetail (mappings/prescription-dose.ts). A ServiceRequest written before those
 * extensions existed carries the dose only in the mapping's Norwegian sentences; for such a
 * component, and only then, the sentences are read as before
 * (docs/adr/0025-prescription-dose-as-structured-extensions.md). Where both are present the
 * structure wins, so rewording the text never changes a packet.
 *
 * Pure: no clock, no I/O.
 */
import type { CodeableConcept, ServiceRequest } from 'fhir/r4.js';
import {
  hrMaxBasisNo,
  MODALITY_NO,
  readOrderDetailDose,
  type IntervalDose,
  type StrengthDose,
} from '../../mappings/prescription-dose.ts';
import { planFourByFourSession, type FourByFourPlan } from '../domain/four-by-four.ts';
import type { Result } from '../domain/result.ts';

export interface IntervalPlan {
  readonly sessionsPerWeek: number;
  /** "på tredemølle", as the prescription says it. */
  readonly modalityText: string;
  readonly hrMaxBpm: number;
  /** Whether the HRmax was measured (else estimated, by the clinic or from the age). */
  readonly hrMaxMeasured: boolean;
  /** Where the HRmax comes from, in the prescription's own Norwegian words. */
  readonly hrMaxBasis: string;
  readonly zone: {
    readonly lowBpm: number;
    readonly highBpm: number;
    readonly lowPercent: number;
    readonly highPercent: number;
  };
  readonly pause: { readonly bpm: number; readonly percent: number };
  /** Minimum incline in the intervals, in percent, where the prescription gives one. */
  readonly inclinePercentMin?: number;
  /** The session minute by minute, planned from this HRmax and zone. */
  readonly session: FourByFourPlan;
}

export interface StrengthPlan {
  readonly sessionsPerWeek: number;
  readonly sets: number;
  readonly reps: number;
  readonly percent1RM: { readonly low: number; readonly high: number };
  readonly exercises: readonly string[];
}

export interface PrescriptionPlan {
  /** The prescription's business identifier value, e.g. "prescription/RX-2026-0001". */
  readonly identifierValue: string;
  /** First and last day of the training period (YYYY-MM-DD, inclusive). */
  readonly start: string;
  readonly end: string;
  readonly weeks: number;
  /** Training days per week over all components (the largest component's count). */
  readonly sessionsPerWeek: number;
  readonly interval?: IntervalPlan;
  readonly strength?: StrengthPlan;
  /** The clinic's note on the prescription (health personnel only). */
  readonly note?: string;
}

export type PlanReading = Result<PrescriptionPlan>;

const DAY_MS = 86_400_000;

export function readPrescriptionPlan(serviceRequest: ServiceRequest): PlanReading {
  const repeat = serviceRequest.occurrenceTiming?.repeat;
  const start = repeat?.boundsPeriod?.start?.slice(0, 10);
  const end = repeat?.boundsPeriod?.end?.slice(0, 10);
  if (start === undefined || end === undefined) {
    return { ok: false, reason: 'the prescription has no training period (occurrenceTiming.repeat.boundsPeriod)' };
  }
  const days = Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / DAY_MS) + 1;
  if (!(days > 0)) return { ok: false, reason: 'the prescription period ends before it starts' };
  // The mapping's period is whole weeks; a hand-made one is counted in started weeks.
  const weeks = Math.ceil(days / 7);
  const frequency = repeat?.frequency;
  if (frequency === undefined || repeat?.periodUnit !== 'wk' || (repeat.period ?? 1) !== 1) {
    return { ok: false, reason: 'the prescription gives no sessions per week (occurrenceTiming.repeat.frequency)' };
  }
  const details = serviceRequest.orderDetail ?? [];
  const instructionLines = (serviceRequest.patientInstruction ?? '').split('\n');
  const interval = readInterval(details, instructionLines);
  if (interval !== undefined && !interval.ok) return interval;
  const strength = readStrength(details, instructionLines);
  if (strength !== undefined && !strength.ok) return strength;
  if (interval === undefined && strength === undefined) {
    return { ok: false, reason: 'the prescription names neither 4x4 intervals nor strength training' };
  }
  const identifierValue = serviceRequest.identifier?.[0]?.value ?? '';
  const note = serviceRequest.note?.map((n) => n.text).join('\n');
  return {
    ok: true,
    value: {
      identifierValue,
      start,
      end,
      weeks,
      sessionsPerWeek: frequency,
      ...(interval === undefined ? {} : { interval: interval.value }),
      ...(strength === undefined ? {} : { strength: strength.value }),
      ...(note === undefined || note === '' ? {} : { note }),
    },
  };
}

type Reading<T> = Result<T>;

function readInterval(
  details: readonly CodeableConcept[],
  lines: readonly string[],
): Reading<IntervalPlan> | undefined {
  for (const detail of details) {
    const found = readOrderDetailDose(detail);
    if (found?.kind !== 'interval') continue;
    if (!found.dose.ok) return { ok: false, reason: found.dose.reason };
    return intervalPlanOf(found.dose.value);
  }
  return readIntervalText(
    details.map((detail) => detail.text ?? ''),
    lines,
  );
}

function readStrength(
  details: readonly CodeableConcept[],
  lines: readonly string[],
): Reading<StrengthPlan> | undefined {
  for (const detail of details) {
    const found = readOrderDetailDose(detail);
    if (found?.kind !== 'strength') continue;
    if (!found.dose.ok) return { ok: false, reason: found.dose.reason };
    return { ok: true, value: strengthPlanOf(found.dose.value) };
  }
  return readStrengthText(
    details.map((detail) => detail.text ?? ''),
    lines,
  );
}

function intervalPlanOf(dose: IntervalDose): Reading<IntervalPlan> {
  const zone = dose.intervalZone;
  const session = planFourByFourSession(dose.hrMax.bpm, {
    intervalPercent: { low: zone.lowPercent, high: zone.highPercent },
  });
  if (!session.ok) return { ok: false, reason: `the 4x4 session cannot be planned: ${session.reason}` };
  return {
    ok: true,
    value: {
      sessionsPerWeek: dose.sessionsPerWeek,
      modalityText: MODALITY_NO[dose.modality],
      hrMaxBpm: dose.hrMax.bpm,
      hrMaxMeasured: dose.hrMax.method === 'measured',
      hrMaxBasis: hrMaxBasisNo(dose.hrMax.method, dose.hrMax.estimatedAtAge),
      zone: { lowBpm: zone.lowBpm, highBpm: zone.highBpm, lowPercent: zone.lowPercent, highPercent: zone.highPercent },
      pause: { bpm: dose.activePause.bpm, percent: dose.activePause.percent },
      ...(dose.inclinePercentMin === undefined ? {} : { inclinePercentMin: dose.inclinePercentMin }),
      session: session.value,
    },
  };
}

function strengthPlanOf(dose: StrengthDose): StrengthPlan {
  return {
    sessionsPerWeek: dose.sessionsPerWeek,
    sets: dose.sets,
    reps: dose.reps,
    percent1RM: { low: dose.percent1RM.low, high: dose.percent1RM.high },
    exercises: dose.exercises,
  };
}

// ---- ServiceRequests from before the dose extensions: the dose only in the mapping's sentences ----

// The sentences below are mappings/prescription.ts's (intervalText, strengthText, inclineText).
const INTERVAL_SUMMARY =
  /^4x4-intervalltrening (?<modality>.+?), (?<perWeek>\d+) økter per uke .*?Makspuls (?<hrMax>\d+) slag\/min \((?<basis>[^)]*)\)\. Dragene går på (?<low>\d+)–(?<high>\d+) slag\/min \((?<lowPct>\d+)–(?<highPct>\d+) % av makspuls\), pausene på ca\. (?<pause>\d+) slag\/min \((?<pausePct>\d+) %\)\./u;
const INCLINE = /^Stigning: minst (?<incline>\d+(?:,\d+)?) % i dragene/u;
const STRENGTH_SUMMARY =
  /^Styrketrening, (?<perWeek>\d+) økter per uke .*?: (?<sets>\d+) serier × (?<reps>\d+) repetisjoner med (?<low>\d+(?:,\d+)?)(?:–(?<high>\d+(?:,\d+)?))? % av 1RM/u;
const EXERCISES = /^Øvelser: (?<list>.+)\.$/u;

function readIntervalText(texts: readonly string[], lines: readonly string[]): Reading<IntervalPlan> | undefined {
  const text = texts.find((t) => t.startsWith('4x4-intervalltrening'));
  if (text === undefined) return undefined;
  const g = INTERVAL_SUMMARY.exec(text)?.groups;
  if (g === undefined)
    return { ok: false, reason: 'the 4x4 component of the prescription could not be read (HRmax and zone)' };
  const num = (name: string): number => Number(g[name]);
  const zone = { lowBpm: num('low'), highBpm: num('high'), lowPercent: num('lowPct'), highPercent: num('highPct') };
  const session = planFourByFourSession(num('hrMax'), {
    intervalPercent: { low: zone.lowPercent, high: zone.highPercent },
  });
  if (!session.ok) return { ok: false, reason: `the 4x4 session cannot be planned: ${session.reason}` };
  // The steps after the summary belong to the interval component up to the strength summary.
  const from = lines.indexOf(text);
  const incline = lines
    .slice(from + 1)
    .map((line) => INCLINE.exec(line)?.groups?.incline)
    .find((value) => value !== undefined);
  const basis = g.basis ?? '';
  return {
    ok: true,
    value: {
      sessionsPerWeek: num('perWeek'),
      modalityText: g.modality ?? '',
      hrMaxBpm: num('hrMax'),
      hrMaxMeasured: basis === 'målt',
      hrMaxBasis: basis,
      zone,
      pause: { bpm: num('pause'), percent: num('pausePct') },
      ...(incline === undefined ? {} : { inclinePercentMin: Number(incline.replace(',', '.')) }),
      session: session.value,
    },
  };
}

function readStrengthText(texts: readonly string[], lines: readonly string[]): Reading<StrengthPlan> | undefined {
  const text = texts.find((t) => t.startsWith('Styrketrening'));
  if (text === undefined) return undefined;
  const g = STRENGTH_SUMMARY.exec(text)?.groups;
  if (g === undefined) return { ok: false, reason: 'the strength component of the prescription could not be read' };
  const decimal = (value: string | undefined): number => Number((value ?? '').replace(',', '.'));
  const from = lines.indexOf(text);
  const next = lines.slice(from + 1).find((line) => line.startsWith('Øvelser: ') || line.startsWith('4x4-'));
  const list = next === undefined ? undefined : EXERCISES.exec(next)?.groups?.list;
  const low = decimal(g.low);
  return {
    ok: true,
    value: {
      sessionsPerWeek: Number(g.perWeek),
      sets: Number(g.sets),
      reps: Number(g.reps),
      percent1RM: { low, high: g.high === undefined ? low : decimal(g.high) },
      exercises: list === undefined ? [] : list.split(', '),
    },
  };
}
