/**
 * The prescription's dose as structure: one extension per component on the ServiceRequest's
 * orderDetail (profiles hit-interval-dose and hit-strength-dose), beside the Norwegian sentence
 * that says the same for people. R4 has no element for HRmax, a heart-rate zone, sets,
 * repetitions, % of 1RM or the exercises, so they travel in these extensions; the handover reads
 * them, never the sentence (docs/adr/0025-prescription-dose-as-structured-extensions.md).
 *
 * Writer and reader live together so the two cannot drift apart; so do the Norwegian words
 * that both the mapping's sentences and the handover's packets derive from the structure
 * (the modality, where the HRmax comes from). Pure.
 */
import type { CodeableConcept, Extension, Quantity, Range } from 'fhir/r4.js';
import { HUNT_HRMAX_ESTIMATE } from '../src/domain/heart-rate.ts';
import { invalid, ok, type Result } from '../src/domain/result.ts';
import { formatNumberNo } from './common.ts';
import type { Modality } from './inputs.ts';
import { profileUrl, SYSTEMS, UNITS } from './terminology.ts';

export const DOSE_EXTENSIONS = {
  interval: profileUrl('hit-interval-dose'),
  strength: profileUrl('hit-strength-dose'),
} as const;

/** Where the HRmax comes from: measured, estimated by the clinic, or estimated here from the age (HUNT). */
export type HrMaxMethod = 'measured' | 'clinic-estimate' | 'hunt-estimate';

export interface IntervalDose {
  readonly sessionsPerWeek: number;
  readonly modality: Modality;
  readonly hrMax: {
    readonly bpm: number;
    readonly method: HrMaxMethod;
    /** The age the HUNT estimate was made at (hunt-estimate only). */
    readonly estimatedAtAge?: number;
  };
  readonly intervalZone: {
    readonly lowBpm: number;
    readonly highBpm: number;
    readonly lowPercent: number;
    readonly highPercent: number;
  };
  readonly activePause: { readonly bpm: number; readonly percent: number };
  /** Minimum incline in the intervals, in percent, where the prescription gives one. */
  readonly inclinePercentMin?: number;
}

export interface StrengthDose {
  readonly sessionsPerWeek: number;
  readonly sets: number;
  readonly reps: number;
  readonly percent1RM: { readonly low: number; readonly high: number };
  readonly exercises: readonly string[];
}

export const MODALITY_NO: Readonly<Record<Modality, string>> = {
  treadmill: 'på tredemølle',
  cycle: 'på ergometersykkel',
  rowing: 'på romaskin',
  'outdoor-uphill': 'utendørs i motbakke',
  // The schema keeps strength out of interval components; the type allows it.
  strength: 'i styrkeapparat',
};

const MODALITIES = Object.keys(MODALITY_NO) as Modality[];
const HRMAX_METHODS: readonly HrMaxMethod[] = ['measured', 'clinic-estimate', 'hunt-estimate'];

/** Where the HRmax comes from, in Norwegian, for the reader of the prescription and of the packets. */
export function hrMaxBasisNo(method: HrMaxMethod, estimatedAtAge?: number): string {
  if (method === 'measured') return 'målt';
  if (method === 'clinic-estimate') return 'estimert av klinikken';
  return (
    `estimert: 211 − 0,64 × alder, ${String(estimatedAtAge)} år ved oppstart, etter HUNT-formelen; kan avvike fra den ` +
    `virkelige makspulsen med standardfeil ${formatNumberNo(HUNT_HRMAX_ESTIMATE.seeBpm)} slag/min, en målt makspuls er sikrere`
  );
}

// ---- Writing ----

function quantity(value: number, unit: string): Quantity {
  return { value, unit, system: SYSTEMS.ucum, code: unit };
}

function range(low: number, high: number, unit: string): Range {
  return { low: quantity(low, unit), high: quantity(high, unit) };
}

export function intervalDoseExtension(dose: IntervalDose): Extension {
  const { hrMax, intervalZone, activePause } = dose;
  return {
    url: DOSE_EXTENSIONS.interval,
    extension: [
      { url: 'sessionsPerWeek', valuePositiveInt: dose.sessionsPerWeek },
      { url: 'modality', valueCode: dose.modality },
      { url: 'hrMax', valueQuantity: quantity(hrMax.bpm, UNITS.perMinute) },
      { url: 'hrMaxMethod', valueCode: hrMax.method },
      ...(hrMax.estimatedAtAge === undefined
        ? []
        : [{ url: 'hrMaxEstimatedAtAge', valueQuantity: quantity(hrMax.estimatedAtAge, UNITS.years) }]),
      { url: 'intervalHeartRate', valueRange: range(intervalZone.lowBpm, intervalZone.highBpm, UNITS.perMinute) },
      {
        url: 'intervalPercentOfHrMax',
        valueRange: range(intervalZone.lowPercent, intervalZone.highPercent, UNITS.percent),
      },
      { url: 'activePauseHeartRate', valueQuantity: quantity(activePause.bpm, UNITS.perMinute) },
      { url: 'activePausePercentOfHrMax', valueQuantity: quantity(activePause.percent, UNITS.percent) },
      ...(dose.inclinePercentMin === undefined
        ? []
        : [{ url: 'minimumIncline', valueQuantity: quantity(dose.inclinePercentMin, UNITS.percent) }]),
    ],
  };
}

export function strengthDoseExtension(dose: StrengthDose): Extension {
  return {
    url: DOSE_EXTENSIONS.strength,
    extension: [
      { url: 'sessionsPerWeek', valuePositiveInt: dose.sessionsPerWeek },
      { url: 'sets', valuePositiveInt: dose.sets },
      { url: 'repetitions', valuePositiveInt: dose.reps },
      { url: 'percentOfOneRepMax', valueRange: range(dose.percent1RM.low, dose.percent1RM.high, UNITS.percent) },
      ...dose.exercises.map((exercise) => ({ url: 'exercise', valueString: exercise })),
    ],
  };
}

// ---- Reading ----

/** The structured dose an orderDetail carries, if any: interval, strength, or neither (content from before the extensions). */
export type OrderDetailDose =
  | { readonly kind: 'interval'; readonly dose: Result<IntervalDose> }
  | { readonly kind: 'strength'; readonly dose: Result<StrengthDose> }
  | undefined;

export function readOrderDetailDose(detail: CodeableConcept): OrderDetailDose {
  const interval = detail.extension?.find((e) => e.url === DOSE_EXTENSIONS.interval);
  if (interval !== undefined) return { kind: 'interval', dose: readIntervalDose(interval) };
  const strength = detail.extension?.find((e) => e.url === DOSE_EXTENSIONS.strength);
  if (strength !== undefined) return { kind: 'strength', dose: readStrengthDose(strength) };
  return undefined;
}

class MissingPart extends Error {}

/** Reads one complex extension's parts; a missing or mistyped required part throws MissingPart, turned into Invalid below. */
function partsOf(extension: Extension, what: string) {
  const all = (name: string) => (extension.extension ?? []).filter((e) => e.url === name);
  const one = (name: string) => all(name)[0];
  const missing = (name: string): never => {
    throw new MissingPart(`the ${what} has no usable ${name}`);
  };
  const number = (value: number | undefined, name: string): number =>
    value === undefined || !Number.isFinite(value) ? missing(name) : value;
  return {
    int: (name: string): number => number(one(name)?.valuePositiveInt, name),
    code: (name: string): string => one(name)?.valueCode ?? missing(name),
    quantity: (name: string): number => number(one(name)?.valueQuantity?.value, name),
    optionalQuantity: (name: string): number | undefined => one(name)?.valueQuantity?.value,
    range: (name: string): { low: number; high: number } => {
      const value = one(name)?.valueRange;
      return { low: number(value?.low?.value, name), high: number(value?.high?.value, name) };
    },
    strings: (name: string): string[] => all(name).map((e) => e.valueString ?? missing(name)),
  };
}

function reading<T>(read: () => T): Result<T> {
  try {
    return ok(read());
  } catch (error) {
    if (error instanceof MissingPart) return invalid(error.message);
    throw error;
  }
}

export function readIntervalDose(extension: Extension): Result<IntervalDose> {
  return reading(() => {
    const part = partsOf(extension, 'structured 4x4 dose');
    const modality = part.code('modality');
    const method = part.code('hrMaxMethod');
    if (!MODALITIES.includes(modality as Modality)) throw new MissingPart(`the 4x4 dose names an unknown modality`);
    if (!HRMAX_METHODS.includes(method as HrMaxMethod))
      throw new MissingPart(`the 4x4 dose names an unknown hrMaxMethod`);
    const estimatedAtAge = part.optionalQuantity('hrMaxEstimatedAtAge');
    if (method === 'hunt-estimate' && estimatedAtAge === undefined) {
      throw new MissingPart('the 4x4 dose estimates HRmax from the age but gives no hrMaxEstimatedAtAge');
    }
    const zoneBpm = part.range('intervalHeartRate');
    const zonePercent = part.range('intervalPercentOfHrMax');
    const incline = part.optionalQuantity('minimumIncline');
    return {
      sessionsPerWeek: part.int('sessionsPerWeek'),
      modality: modality as Modality,
      hrMax: {
        bpm: part.quantity('hrMax'),
        method: method as HrMaxMethod,
        ...(method === 'hunt-estimate' && estimatedAtAge !== undefined ? { estimatedAtAge } : {}),
      },
      intervalZone: {
        lowBpm: zoneBpm.low,
        highBpm: zoneBpm.high,
        lowPercent: zonePercent.low,
        highPercent: zonePercent.high,
      },
      activePause: { bpm: part.quantity('activePauseHeartRate'), percent: part.quantity('activePausePercentOfHrMax') },
      ...(incline === undefined ? {} : { inclinePercentMin: incline }),
    };
  });
}

export function readStrengthDose(extension: Extension): Result<StrengthDose> {
  return reading(() => {
    const part = partsOf(extension, 'structured strength dose');
    return {
      sessionsPerWeek: part.int('sessionsPerWeek'),
      sets: part.int('sets'),
      reps: part.int('repetitions'),
      percent1RM: part.range('percentOfOneRepMax'),
      exercises: part.strings('exercise'),
    };
  });
}
