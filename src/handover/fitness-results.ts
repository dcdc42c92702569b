/**
 * The fitness tests over the stay, read from the Observations the EHR holds (made by
 * mappings/fitness-test.ts): VO2max first → last with the change in percent, fitness age first →
 * last, and 1RM per exercise first → last. Observations are recognised by code, never by
 * profile or id, so the reader works on whatever the EHR's search returned, in any order.
 *
 * Pure: no clock, no I/O.
 */
import type { Observation } from 'fhir/r4.js';
import { HIT_CODES, LOINC } from '../../mappings/terminology.ts';

export interface Measurement {
  /** ISO 8601 date-time of the test. */
  readonly at: string;
  readonly value: number;
  /** The Observation's business identifier value, to find it in a document. */
  readonly identifierValue: string;
}

export interface Change {
  readonly first: Measurement;
  readonly last: Measurement;
  /** (last − first) / first × 100, one decimal; undefined with a single measurement. */
  readonly changePercent: number | undefined;
}

export interface FitnessResults {
  /** mL/kg/min, oldest first. */
  readonly vo2max: readonly (Measurement & { readonly estimated: boolean })[];
  readonly vo2maxChange: Change | undefined;
  /** Years (an estimate), oldest first. */
  readonly fitnessAge: readonly Measurement[];
  readonly fitnessAgeChange: Change | undefined;
  /** Per exercise, in the order the exercises first appear; kg. */
  readonly oneRepMax: readonly { readonly exercise: string; readonly change: Change }[];
  /** Every Observation the results above are read from, for a document to include. */
  readonly sources: readonly Observation[];
}

/** Results of tests that were withdrawn or never made are not results. */
const USABLE = new Set<Observation['status']>(['final', 'amended', 'corrected']);

function hasCoding(observation: Observation, coding: { system: string; code: string }): boolean {
  return (observation.code.coding ?? []).some((c) => c.system === coding.system && c.code === coding.code);
}

function measurementOf(observation: Observation): Measurement | undefined {
  const at = observation.effectiveDateTime ?? observation.effectivePeriod?.start;
  const value = observation.valueQuantity?.value;
  if (at === undefined || value === undefined || !USABLE.has(observation.status)) return undefined;
  return { at, value, identifierValue: observation.identifier?.[0]?.value ?? '' };
}

/** Oldest first; within one test, in the order the clinic listed the results (identifier). */
function byTime(a: Measurement, b: Measurement): number {
  return (
    Date.parse(a.at) - Date.parse(b.at) || a.identifierValue.localeCompare(b.identifierValue, 'en', { numeric: true })
  );
}

/** One decimal, half away from zero, as a reader rounding by hand would. */
function round1(value: number): number {
  return (Math.sign(value) * Math.round(Math.abs(value) * 10)) / 10;
}

export function changeOf(measurements: readonly Measurement[]): Change | undefined {
  const first = measurements[0];
  const last = measurements[measurements.length - 1];
  if (first === undefined || last === undefined) return undefined;
  const changePercent =
    measurements.length < 2 || first.value === 0 ? undefined : round1(((last.value - first.value) / first.value) * 100);
  return { first, last, changePercent };
}

const ONE_REP_MAX_PREFIX = '1RM ';

export function readFitnessResults(observations: readonly Observation[]): FitnessResults {
  const sources: Observation[] = [];
  const take = (coding: { system: string; code: string }) =>
    observations
      .filter((o) => hasCoding(o, coding))
      .flatMap((o) => {
        const m = measurementOf(o);
        if (m === undefined) return [];
        sources.push(o);
        return [{ m, o }];
      })
      .sort((a, b) => byTime(a.m, b.m));

  const vo2max = take(LOINC.vo2maxPerKg).map(({ m, o }) => ({
    ...m,
    estimated: (o.method?.text ?? '').startsWith('Estimert'),
  }));
  const fitnessAge = take(HIT_CODES.fitnessAge).map(({ m }) => m);
  const lifts = new Map<string, Measurement[]>();
  for (const { m, o } of take(HIT_CODES.oneRepMax)) {
    const text = o.code.text ?? '';
    const exercise = text.startsWith(ONE_REP_MAX_PREFIX) ? text.slice(ONE_REP_MAX_PREFIX.length) : text;
    lifts.set(exercise, [...(lifts.get(exercise) ?? []), m]);
  }
  const oneRepMax = [...lifts.entries()].flatMap(([exercise, measurements]) => {
    const change = changeOf(measurements);
    return change === undefined ? [] : [{ exercise, change }];
  });
  return {
    vo2max,
    vo2maxChange: changeOf(vo2max),
    fitnessAge,
    fitnessAgeChange: changeOf(fitnessAge),
    oneRepMax,
    sources,
  };
}
