/**
 * A HIT session → a FHIR R4 transaction Bundle: one Procedure and the Observations made during it.
 *
 * What the EHR receives (every resource created once, on its business identifier
 * `session/<sessionId>[/<role>]` in the sending system's namespace):
 * - the Procedure (profile hit-training-procedure): OBAB00 (plus the DIPS coding of NCMP when
 *   configured) and SNOMED CT 229065009 Exercise therapy; the patient, the supervising therapist,
 *   the session's start and end, the prescription it carries out (`basedOn`, a conditional
 *   reference to the ServiceRequest the prescription mapping creates), the clinic's note, and a
 *   narrative a clinician can read on its own: intervals, pauses, heart rate against HRmax, time
 *   in zone, Borg, strength sets and warnings;
 * - the HRmax the zones were computed from (shared profile hit-hrmax): the clinic's value, or
 *   when none was sent, 211 − 0.64 × age on the session date (age from the national id);
 * - heart rate per work interval and per active pause (LOINC 8867-4, mean as the value, peak as a
 *   component, "during exercise" in the exercise-association extension); intervals carry the
 *   85–95 % zone as reference range and an interpretation against it;
 * - time in the 85–95 % zone (our code time-in-zone), only when every interval reports it;
 * - Borg RPE 6–20 for the session (our code borg-rpe);
 * - one strength-set Observation per exercise (our code strength-set: load as value; exercise,
 *   sets, reps, 1RM and % of 1RM as components).
 * Every Observation is `partOf` the Procedure. No Patient, no Practitioner: the EHR owns those.
 *
 * Pure: the patient's age comes from the national id and the session's date; no clock.
 */
import type {
  Annotation,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Coding,
  Extension,
  Identifier,
  Observation,
  ObservationComponent,
  ObservationReferenceRange,
  Period,
  Procedure,
  Quantity,
  Reference,
} from 'fhir/r4.js';
import { INTERVAL_ZONE_BORG, olympiatoppenZoneForBorg, parseBorgRpe } from '../src/domain/borg.ts';
import {
  assessSessionHeartRate,
  estimateHrMax,
  HUNT_HRMAX_ESTIMATE,
  INTERVAL_ZONE_PERCENT,
  percentOfHrMax,
  type EstimatedHrMax,
  type HeartRateFlag,
  type HrMax,
  type IntervalAssessment,
  type SessionHeartRateAssessment,
} from '../src/domain/heart-rate.ts';
import { STRENGTH_PROTOCOL } from '../src/domain/four-by-four.ts';
import type { NationalIdKind } from '../src/domain/national-id.ts';
import {
  businessIdentifier,
  createOnce,
  conditionalReference,
  escapeXml,
  formatDateTimeNo,
  formatNumberNo,
  fullUrlFor,
  narrative,
  patientOn,
  referenceToPatient,
  practitionerReference,
  transactionBundle,
  xhtmlNarrativeTable,
  xhtmlTable,
  type MappingOptions,
  type TableRow,
} from './common.ts';
import type { ActivePauseInput, HitSessionInput, IntervalInput, Modality, StrengthSetInput } from './inputs.ts';
import {
  CATEGORY,
  EXERCISE_ASSOCIATION_EXTENSION,
  HIT_CODES,
  INTERPRETATION,
  LOINC,
  OBAB00,
  profileUrl,
  SNOMED,
  SYSTEMS,
  UNITS,
} from './terminology.ts';

export const HIT_SESSION_PROFILES = {
  procedure: profileUrl('hit-training-procedure'),
  heartRate: profileUrl('hit-session-heart-rate'),
  timeInZone: profileUrl('hit-session-time-in-zone'),
  borgRpe: profileUrl('hit-session-borg-rpe'),
  strengthSet: profileUrl('hit-strength-set'),
  /** Shared with the fitness-test mapping. */
  hrMax: profileUrl('hit-hrmax'),
} as const;

const MODALITY_NO: Readonly<Record<Modality, string>> = {
  treadmill: 'tredemølle',
  cycle: 'ergometersykkel',
  rowing: 'romaskin',
  'outdoor-uphill': 'motbakke utendørs',
  strength: 'styrketrening',
};

/** The protocol in words; "4x4" means 4 × 4 min intervals, or 4 sets × 4 repetitions for strength (docs/reference/fitness.md §4). */
function protocolText(input: HitSessionInput): string {
  if (input.protocol === 'custom') return 'egendefinert opplegg';
  if (input.modality !== 'strength') return '4x4-intervaller';
  const { sets, reps, percentOneRm } = STRENGTH_PROTOCOL;
  return `4x4-styrketrening (${sets} sett × ${reps} repetisjoner ved ${percentOneRm.low}–${percentOneRm.high} % av 1RM)`;
}

/** The HRmax the session's zones use, and where it came from. */
type UsedHrMax =
  | { readonly kind: 'measured'; readonly bpm: number }
  /** An estimate the clinic sent; its method is not part of the input. */
  | { readonly kind: 'clinic-estimate'; readonly bpm: number }
  | { readonly kind: 'age-estimate'; readonly bpm: number; readonly estimate: EstimatedHrMax };

/** What every resource of one session shares. */
interface SessionContext {
  readonly input: HitSessionInput;
  readonly subject: Reference;
  readonly performer: Reference;
  readonly period: Period;
  readonly procedureIdentifier: Identifier;
  /** Every Observation is partOf the Procedure: its fullUrl is derived (hashed) once per session. */
  readonly procedureFullUrl: string;
  readonly procedureReference: Reference;
  readonly ageYears: number;
  /** Where the birth date came from, as a clinician names it ("fødselsnummeret", "D-nummeret"). */
  readonly birthDateFrom: string;
}

/** The HRmax used, the domain's assessment of the intervals against it, and where it sits in the Bundle. */
interface HeartRate {
  readonly hrMax: UsedHrMax;
  readonly assessment: SessionHeartRateAssessment;
  readonly hrMaxReference: Reference;
  /** The interval zone in words, the same for every interval of the session: written once. */
  readonly zoneText: string;
  /** The interval zone as every interval's reference range, shared as the patient reference is. */
  readonly intervalRange: ObservationReferenceRange;
}

export function mapHitSession(input: HitSessionInput, options: MappingOptions): Bundle {
  const ctx = contextOf(input);
  const intervals: readonly IntervalInput[] = input.intervals ?? [];
  const pauses = input.activePauses ?? [];

  // Heart-rate zones matter only when the session had intervals or active pauses.
  const usesHeartRate = intervals.length > 0 || pauses.length > 0;
  const hrMax = usesHeartRate ? resolveSessionHrMax(ctx) : undefined;
  const assessment = hrMax === undefined ? undefined : assess(hrMax, intervals, ctx.ageYears);

  const procedure = procedureOf(ctx, options, hrMax, assessment, intervals);
  const entries: BundleEntry[] = [createOnce(procedure, ctx.procedureFullUrl)];
  const add = (observation: Observation | undefined): void => {
    if (observation !== undefined) entries.push(createOnce(observation));
  };
  if (hrMax !== undefined && assessment !== undefined) {
    const hrMaxObs = hrMaxObservation(ctx, hrMax, assessment);
    const hrMaxReference = localReference('Observation', hrMaxObs.identifier?.[0]);
    const zone = zoneText(assessment);
    const hr: HeartRate = {
      hrMax,
      assessment,
      hrMaxReference,
      zoneText: zone,
      intervalRange: intervalRange(assessment, zone),
    };
    entries.push(createOnce(hrMaxObs, hrMaxReference.reference));
    for (const [index, interval] of intervals.entries()) {
      add(intervalHeartRateObservation(ctx, hr, index + 1, intervals.length, interval));
    }
    for (const [index, pause] of pauses.entries()) add(pauseHeartRateObservation(ctx, hr, index + 1, pause));
    if (assessment.minutesInZone !== undefined && intervals.length > 0) {
      add(timeInZoneObservation(ctx, hr, intervals));
    }
  }
  if (input.borgRpe !== undefined) add(borgObservation(ctx, input.borgRpe));
  for (const [index, set] of (input.strengthSets ?? []).entries()) add(strengthSetObservation(ctx, index + 1, set));
  return transactionBundle(ctx.procedureIdentifier, entries);
}

// ---- The patient and the session ----

function contextOf(input: HitSessionInput): SessionContext {
  const patient = patientOn(input.patient.nationalId, input.startedAt);
  const procedureIdentifier = businessIdentifier(input.source, 'session', input.sessionId);
  const procedureFullUrl = fullUrlFor(procedureIdentifier);
  return {
    input,
    subject: referenceToPatient(patient.id),
    performer: practitionerReference(input.performer.hprNumber),
    period: { start: input.startedAt, end: input.endedAt },
    procedureIdentifier,
    procedureFullUrl,
    procedureReference: { reference: procedureFullUrl, type: 'Procedure' },
    ageYears: patient.age,
    birthDateFrom: ID_KIND_NO[patient.id.kind],
  };
}

const ID_KIND_NO: Readonly<Record<NationalIdKind, string>> = {
  fnr: 'fødselsnummeret',
  synthetic: 'det syntetiske fødselsnummeret',
  'd-number': 'D-nummeret',
  'synthetic-d-number': 'det syntetiske D-nummeret',
  'h-number': 'H-nummeret',
};

function identifierFor(ctx: SessionContext, role: string): Identifier {
  return businessIdentifier(ctx.input.source, 'session', ctx.input.sessionId, role);
}

/** A reference to a resource in the same Bundle, by the fullUrl createOnce gives it. */
function localReference(resourceType: string, identifier: Identifier | undefined): Reference {
  if (identifier === undefined) throw new Error(`${resourceType} without a business identifier`);
  return { reference: fullUrlFor(identifier), type: resourceType };
}

// ---- HRmax and the zones ----

/** A measured HRmax always wins; a clinic's own estimate is used as sent; else 211 − 0.64 × age. */
function resolveSessionHrMax(ctx: SessionContext): UsedHrMax {
  const sent = ctx.input.hrMax;
  if (sent !== undefined) {
    return { kind: sent.method === 'measured' ? 'measured' : 'clinic-estimate', bpm: Math.round(sent.bpm) };
  }
  const estimate = estimateHrMax(ctx.ageYears);
  if (!estimate.ok) throw new Error(`mapping could not estimate HRmax: ${estimate.reason}`);
  return { kind: 'age-estimate', bpm: estimate.value.bpm, estimate: estimate.value };
}

function assess(hrMax: UsedHrMax, intervals: readonly IntervalInput[], ageYears: number): SessionHeartRateAssessment {
  const result = assessSessionHeartRate(
    domainHrMax(hrMax, ageYears),
    intervals.map((interval) => ({
      meanBpm: interval.meanHr,
      peakBpm: interval.peakHr,
      durationSeconds: interval.durationSeconds,
      secondsInZone: interval.secondsInZone,
    })),
    INTERVAL_ZONE_PERCENT,
  );
  // Inputs are validated before mapping (positive numbers, time in zone within the interval).
  if (!result.ok) throw new Error(`mapping received heart-rate data the domain rejects: ${result.reason}`);
  return result.value;
}

/**
 * The domain's HRmax for the assessment, which reads only its bpm and whether it was measured
 * (for flag texts this mapping writes itself, in Norwegian). The domain has no shape for a clinic's
 * own estimate, so it travels as an estimate with the clinic's bpm; its method is never shown.
 */
function domainHrMax(hrMax: UsedHrMax, ageYears: number): HrMax {
  if (hrMax.kind === 'measured') return { source: 'measured', bpm: hrMax.bpm };
  if (hrMax.kind === 'age-estimate') return hrMax.estimate;
  const estimate = estimateHrMax(ageYears);
  if (!estimate.ok) throw new Error(`mapping could not estimate HRmax: ${estimate.reason}`);
  return { ...estimate.value, bpm: hrMax.bpm, unroundedBpm: hrMax.bpm };
}

function percentText(bpm: number, hrMaxBpm: number): string {
  return `${formatNumberNo(percentOfHrMax(bpm, hrMaxBpm), 0)} % av HRmax`;
}

function hrMaxMethodText(ctx: SessionContext, hrMax: UsedHrMax): string {
  switch (hrMax.kind) {
    case 'measured':
      return 'Målt makspuls, oppgitt av klinikken med økten (når og hvordan den ble målt, er ikke oppgitt)';
    case 'clinic-estimate':
      return 'Estimert makspuls, oppgitt av klinikken (estimeringsmetoden er ikke oppgitt)';
    case 'age-estimate':
      return (
        `Estimert: HRmax = 211 − 0,64 × alder (Nes et al. 2013, HUNT), alder ${ctx.ageYears} år på øktdatoen ` +
        `(fødselsdato fra ${ctx.birthDateFrom}); ${formatNumberNo(hrMax.estimate.unroundedBpm, 2)} avrundet til ` +
        `${hrMax.bpm} slag/min. Standardfeil ${formatNumberNo(HUNT_HRMAX_ESTIMATE.seeBpm)} slag/min.`
      );
  }
}

function hrMaxShortText(hrMax: UsedHrMax): string {
  const how =
    hrMax.kind === 'measured'
      ? 'målt'
      : hrMax.kind === 'clinic-estimate'
        ? 'estimert av klinikken'
        : 'estimert fra alder';
  return `${hrMax.bpm} slag/min (${how})`;
}

// ---- Flags, in Norwegian ----

/**
 * A flag from the domain's assessment as a therapist would write it. With `interval`, the text
 * is for that interval's own Observation (its own peak); without, for the whole session.
 */
function flagText(
  flag: HeartRateFlag,
  hrMax: UsedHrMax,
  assessed: readonly IntervalAssessment[],
  interval?: number,
): string {
  if (flag.code === 'peak-above-hrmax') {
    const kind = hrMax.kind === 'measured' ? 'målt' : 'estimert';
    const advice =
      hrMax.kind === 'measured'
        ? 'makspulstesten var trolig ikke maksimal. Vurder ny test.'
        : 'estimatet er trolig for lavt, og da er pulssonene også for lave. Vurder å måle HRmax.';
    const peakOf = (n: number): string => String(assessed[n - 1]?.peakBpm ?? '');
    if (interval !== undefined) {
      return `Topppuls ${peakOf(interval)} slag/min er over ${kind} HRmax ${flag.hrMaxBpm} slag/min: ${advice}`;
    }
    const where = listNo(flag.intervals.map((n) => `${n} (${peakOf(n)} slag/min)`));
    return `Topppulsen var over ${kind} HRmax ${flag.hrMaxBpm} slag/min i intervall ${where}: ${advice}`;
  }
  const base =
    `Intervall ${flag.interval}: snittpuls ${formatNumberNo(flag.meanBpm)} slag/min er under sonen ` +
    `(${INTERVAL_ZONE_PERCENT.low} % av HRmax = ${flag.zoneLowBpm} slag/min)`;
  return flag.peakReachedZone === false ? `${base}; pulsen nådde aldri sonen.` : `${base}.`;
}

function listNo(items: readonly (number | string)[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} og ${String(items[items.length - 1])}`;
}

function flagsForInterval(flags: readonly HeartRateFlag[], interval: number): HeartRateFlag[] {
  return flags.filter((flag) =>
    flag.code === 'peak-above-hrmax' ? flag.intervals.includes(interval) : flag.interval === interval,
  );
}

// ---- Observations ----

interface ObservationParts {
  readonly role: string;
  readonly profile: string;
  readonly category: CodeableConcept[];
  readonly code: CodeableConcept;
  /**
   * The narrative's title and rows, as XHTML: what this mapping writes from numbers and its own
   * words goes in as it is; text from the input (an exercise's name) is escaped with escapeXml.
   */
  readonly titleXhtml: string;
  readonly rows: readonly TableRow[];
  readonly effective?: { readonly effectiveDateTime: string } | { readonly effectivePeriod: Period };
  readonly value?: Quantity | undefined;
  readonly extension?: Extension[];
  readonly method?: string;
  readonly interpretation?: Coding | undefined;
  readonly referenceRange?: ObservationReferenceRange | undefined;
  readonly component?: ObservationComponent[];
  readonly derivedFrom?: Reference[];
  readonly notes?: readonly string[];
}

function makeObservation(ctx: SessionContext, parts: ObservationParts): Observation {
  // Elements are added one by one in the order they are serialised (the golden files pin it):
  // spreading an object literal per optional element cost more than the rest of this function.
  const observation: Partial<Observation> = {
    resourceType: 'Observation',
    meta: { profile: [parts.profile] },
    text: xhtmlNarrativeTable(parts.titleXhtml, parts.rows),
  };
  if (parts.extension !== undefined) observation.extension = parts.extension;
  observation.identifier = [identifierFor(ctx, parts.role)];
  observation.partOf = [ctx.procedureReference];
  observation.status = 'final';
  observation.category = parts.category;
  observation.code = parts.code;
  observation.subject = ctx.subject;
  const effective = parts.effective;
  if (effective === undefined) observation.effectivePeriod = ctx.period;
  else if ('effectiveDateTime' in effective) observation.effectiveDateTime = effective.effectiveDateTime;
  else observation.effectivePeriod = effective.effectivePeriod;
  observation.performer = [ctx.performer];
  if (parts.value !== undefined) observation.valueQuantity = parts.value;
  if (parts.interpretation !== undefined) observation.interpretation = [{ coding: [parts.interpretation] }];
  if (parts.notes !== undefined && parts.notes.length > 0) {
    observation.note = parts.notes.map((text): Annotation => ({ text }));
  }
  if (parts.method !== undefined) observation.method = { text: parts.method };
  if (parts.referenceRange !== undefined) observation.referenceRange = [parts.referenceRange];
  if (parts.derivedFrom !== undefined) observation.derivedFrom = parts.derivedFrom;
  if (parts.component !== undefined && parts.component.length > 0) observation.component = parts.component;
  // resourceType, status and code, all Observation requires, are set above.
  return observation as Observation;
}

// Shared by every Observation of every session, as the codings are: the Bundle is only ever
// serialised or read, never changed (its one wrapper, withProvenance, copies what it adds to).
const ACTIVITY: CodeableConcept = { coding: [CATEGORY.activity] };
const VITAL_SIGNS: CodeableConcept = { coding: [CATEGORY.vitalSigns] };

function quantity(value: number, unit: string): Quantity {
  return { value, unit, system: SYSTEMS.ucum, code: unit };
}

const DURING_EXERCISE: Extension = {
  url: EXERCISE_ASSOCIATION_EXTENSION,
  valueCodeableConcept: { coding: [SNOMED.duringExercise] },
};

function hrMaxObservation(ctx: SessionContext, hrMax: UsedHrMax, assessment: SessionHeartRateAssessment): Observation {
  const peakFlags = assessment.flags.filter((flag) => flag.code === 'peak-above-hrmax');
  const measured = hrMax.kind === 'measured';
  const method = hrMaxMethodText(ctx, hrMax);
  const notes = [
    'Grunnlaget for pulssonene i denne økten.',
    ...peakFlags.map((flag) => flagText(flag, hrMax, assessment.intervals)),
  ];
  const zones = assessment.zones;
  return makeObservation(ctx, {
    role: 'hrmax',
    profile: HIT_SESSION_PROFILES.hrMax,
    category: [ACTIVITY],
    code: { coding: [measured ? HIT_CODES.hrMaxMeasured : HIT_CODES.hrMaxEstimated], text: 'Makspuls (HRmax)' },
    titleXhtml: measured ? 'Makspuls (HRmax), målt' : 'Makspuls (HRmax), estimert',
    rows: [
      ['Verdi', `${hrMax.bpm} slag/min`],
      ['Metode', method],
      [
        'Pulssone i intervallene',
        `${zones.interval.lowPercent}–${zones.interval.highPercent} % = ${zones.interval.lowBpm}–${zones.interval.highBpm} slag/min`,
      ],
      ['Aktiv pause', `ca. ${zones.activePause.percent} % = ${zones.activePause.bpm} slag/min`],
      ['Merknader', notes.join(' ')],
    ],
    effective: { effectiveDateTime: ctx.input.startedAt },
    value: quantity(hrMax.bpm, UNITS.perMinute),
    method,
    notes,
  });
}

function intervalHeartRateObservation(
  ctx: SessionContext,
  hr: HeartRate,
  number: number,
  count: number,
  interval: IntervalInput,
): Observation | undefined {
  const assessed = hr.assessment.intervals[number - 1];
  if (assessed === undefined || (assessed.meanBpm === undefined && assessed.peakBpm === undefined)) return undefined;
  const { zones } = hr.assessment;
  const hrMaxBpm = zones.hrMaxBpm;
  const warnings = flagsForInterval(hr.assessment.flags, number).map((flag) =>
    flagText(flag, hr.hrMax, hr.assessment.intervals, number),
  );
  const position = zonePosition(assessed, zones.interval.lowBpm, zones.interval.highBpm);
  const component: ObservationComponent[] = [];
  if (assessed.peakBpm !== undefined) {
    component.push({
      code: { coding: [HIT_CODES.heartRatePeak] },
      valueQuantity: quantity(assessed.peakBpm, UNITS.perMinute),
    });
  }
  component.push(durationComponent(interval.durationSeconds));
  return makeObservation(ctx, {
    role: `hr-interval-${number}`,
    profile: HIT_SESSION_PROFILES.heartRate,
    category: [VITAL_SIGNS, ACTIVITY],
    code: { coding: [LOINC.heartRate], text: `Puls i arbeidsintervall ${number}` },
    titleXhtml: `Puls, arbeidsintervall ${number} av ${count}`,
    rows: [
      ['Varighet', durationText(interval.durationSeconds)],
      ['Snittpuls', bpmWithPercent(assessed.meanBpm, hrMaxBpm)],
      ['Topppuls', bpmWithPercent(assessed.peakBpm, hrMaxBpm)],
      ['Målsone', hr.zoneText],
      ['Vurdering', position === undefined ? undefined : POSITION_NO[position]],
      ['Tid i sone', assessed.secondsInZone === undefined ? undefined : durationText(assessed.secondsInZone)],
      ['Fart og stigning', workloadText(interval)],
      ['Advarsler', warnings.length === 0 ? undefined : warnings.join(' ')],
    ],
    extension: [DURING_EXERCISE],
    value: assessed.meanBpm === undefined ? undefined : quantity(round1(assessed.meanBpm), UNITS.perMinute),
    interpretation: position === undefined ? undefined : INTERPRETATION[position],
    referenceRange: hr.intervalRange,
    component,
    notes: warnings,
  });
}

function pauseHeartRateObservation(
  ctx: SessionContext,
  hr: HeartRate,
  number: number,
  pause: ActivePauseInput,
): Observation | undefined {
  if (pause.meanHr === undefined) return undefined;
  const { zones } = hr.assessment;
  return makeObservation(ctx, {
    role: `hr-pause-${number}`,
    profile: HIT_SESSION_PROFILES.heartRate,
    category: [VITAL_SIGNS, ACTIVITY],
    code: { coding: [LOINC.heartRate], text: `Puls i aktiv pause ${number}` },
    titleXhtml: `Puls, aktiv pause ${number}`,
    rows: [
      ['Varighet', durationText(pause.durationSeconds)],
      ['Snittpuls', bpmWithPercent(pause.meanHr, zones.hrMaxBpm)],
      ['Mål', `ca. ${zones.activePause.percent} % av HRmax = ${zones.activePause.bpm} slag/min`],
    ],
    extension: [DURING_EXERCISE],
    value: quantity(round1(pause.meanHr), UNITS.perMinute),
    component: [durationComponent(pause.durationSeconds)],
  });
}

function durationComponent(seconds: number): ObservationComponent {
  return { code: { coding: [LOINC.exerciseDuration] }, valueQuantity: quantity(round1(seconds / 60), UNITS.minutes) };
}

function intervalRange(assessment: SessionHeartRateAssessment, zoneText: string): ObservationReferenceRange {
  const { interval } = assessment.zones;
  return {
    low: quantity(interval.lowBpm, UNITS.perMinute),
    high: quantity(interval.highBpm, UNITS.perMinute),
    text: `Målsone for arbeidsintervall: ${zoneText}`,
  };
}

function zoneText(assessment: SessionHeartRateAssessment): string {
  const { zones } = assessment;
  return (
    `${zones.interval.lowBpm}–${zones.interval.highBpm} slag/min ` +
    `(${zones.interval.lowPercent}–${zones.interval.highPercent} % av HRmax ${zones.hrMaxBpm} slag/min)`
  );
}

function timeInZoneObservation(ctx: SessionContext, hr: HeartRate, intervals: readonly IntervalInput[]): Observation {
  const minutes = hr.assessment.minutesInZone ?? 0;
  const perInterval = hr.assessment.intervals
    .map((a) => `intervall ${a.interval}: ${durationText(a.secondsInZone ?? 0)}`)
    .join('; ');
  return makeObservation(ctx, {
    role: 'time-in-zone',
    profile: HIT_SESSION_PROFILES.timeInZone,
    category: [ACTIVITY],
    code: { coding: [HIT_CODES.timeInZone], text: 'Tid i pulssonen (85–95 % av HRmax)' },
    titleXhtml: 'Tid i pulssonen (85–95 % av HRmax)',
    rows: [
      ['Tid i sone', timeInZoneSummary(hr.assessment, intervals)],
      ['Per intervall', perInterval],
      ['Sone', hr.zoneText],
      ['Metode', TIME_IN_ZONE_METHOD],
    ],
    value: quantity(minutes, UNITS.minutes),
    method: TIME_IN_ZONE_METHOD,
    derivedFrom: [hr.hrMaxReference],
  });
}

const TIME_IN_ZONE_METHOD = 'Summen av tiden i sonen i hvert arbeidsintervall, slik pulsmåleren rapporterte den';

function borgObservation(ctx: SessionContext, score: number): Observation {
  const parsed = parseBorgRpe(score);
  if (!parsed.ok) throw new Error(`mapping received an invalid Borg score: ${parsed.reason}`);
  const intervalSession = ctx.input.protocol === '4x4' && ctx.input.modality !== 'strength';
  return makeObservation(ctx, {
    role: 'borg-rpe',
    profile: HIT_SESSION_PROFILES.borgRpe,
    category: [ACTIVITY],
    code: { coding: [HIT_CODES.borgRpe], text: 'Opplevd anstrengelse (Borg 6–20)' },
    titleXhtml: 'Opplevd anstrengelse (Borg RPE 6–20)',
    rows: [
      ['Verdi', borgText(score)],
      ['Gjelder', 'Økten som helhet'],
      [
        'Forventet i 4x4-intervallene',
        intervalSession ? `Borg ${INTERVAL_ZONE_BORG.low}–${INTERVAL_ZONE_BORG.high} (85–95 % av HRmax)` : undefined,
      ],
    ],
    value: quantity(score, UNITS.score),
    referenceRange: intervalSession
      ? {
          low: quantity(INTERVAL_ZONE_BORG.low, UNITS.score),
          high: quantity(INTERVAL_ZONE_BORG.high, UNITS.score),
          text: 'Forventet i 4x4-intervallene: Borg 16–18, tilsvarer 85–95 % av HRmax (St. Olavs hospital)',
        }
      : undefined,
  });
}

function borgText(score: number): string {
  const parsed = parseBorgRpe(score);
  if (!parsed.ok) return String(score);
  // Borg's own verbal anchors are sourced in Swedish and English only, so the Norwegian words
  // shown are Olympiatoppen's intensity zone for the score (src/domain/borg.ts).
  const zone = olympiatoppenZoneForBorg(parsed.value);
  return `${score} på skalaen 6–20${zone === undefined ? '' : ` (Olympiatoppens sone ${zone.zone}: «${zone.nb}»)`}`;
}

function strengthSetObservation(ctx: SessionContext, number: number, set: StrengthSetInput): Observation {
  const percent = set.oneRepMaxKg === undefined ? undefined : round1((100 * set.loadKg) / set.oneRepMaxKg);
  const exercise = escapeXml(set.exercise);
  return makeObservation(ctx, {
    role: `strength-${number}`,
    profile: HIT_SESSION_PROFILES.strengthSet,
    category: [ACTIVITY],
    code: { coding: [HIT_CODES.strengthSet], text: `Styrkeøvelse: ${set.exercise}` },
    titleXhtml: `Styrketrening: ${exercise}`,
    rows: [
      ['Øvelse', exercise],
      ['Sett × repetisjoner', `${set.sets} × ${set.reps}`],
      ['Belastning', `${formatNumberNo(set.loadKg)} kg`],
      ['1RM', set.oneRepMaxKg === undefined ? undefined : `${formatNumberNo(set.oneRepMaxKg)} kg`],
      ['Andel av 1RM', percent === undefined ? undefined : `${formatNumberNo(percent, 0)} %`],
      [
        'Protokoll',
        ctx.input.protocol === '4x4'
          ? `${STRENGTH_PROTOCOL.sets} × ${STRENGTH_PROTOCOL.reps} ved ${STRENGTH_PROTOCOL.percentOneRm.low}–${STRENGTH_PROTOCOL.percentOneRm.high} % av 1RM`
          : undefined,
      ],
    ],
    value: quantity(set.loadKg, UNITS.kilograms),
    component: [
      { code: { coding: [HIT_CODES.strengthExercise] }, valueString: set.exercise },
      { code: { coding: [HIT_CODES.strengthSets] }, valueInteger: set.sets },
      { code: { coding: [HIT_CODES.strengthReps] }, valueInteger: set.reps },
      ...(set.oneRepMaxKg === undefined
        ? []
        : [{ code: { coding: [HIT_CODES.oneRepMax] }, valueQuantity: quantity(set.oneRepMaxKg, UNITS.kilograms) }]),
      ...(percent === undefined
        ? []
        : [{ code: { coding: [HIT_CODES.percentOfOneRepMax] }, valueQuantity: quantity(percent, UNITS.percent) }]),
    ],
  });
}

// ---- The Procedure ----

function procedureOf(
  ctx: SessionContext,
  options: MappingOptions,
  hrMax: UsedHrMax | undefined,
  assessment: SessionHeartRateAssessment | undefined,
  intervals: readonly IntervalInput[],
): Procedure {
  const { input } = ctx;
  const coding: Coding[] = options.ncmpDipsCoding
    ? [OBAB00, { ...OBAB00, system: SYSTEMS.ncmpDips }, SNOMED.exerciseTherapy]
    : [OBAB00, SNOMED.exerciseTherapy];
  // Elements in the order they are serialised, optional ones only when present (as in makeObservation).
  const procedure: Partial<Procedure> = {
    resourceType: 'Procedure',
    meta: { profile: [HIT_SESSION_PROFILES.procedure] },
    text: narrative(procedureNarrative(ctx, hrMax, assessment, intervals)),
    identifier: [ctx.procedureIdentifier],
  };
  if (input.prescriptionId !== undefined) {
    const prescription = businessIdentifier(input.source, 'prescription', input.prescriptionId);
    procedure.basedOn = [conditionalReference('ServiceRequest', prescription)];
  }
  procedure.status = 'completed';
  procedure.code = { coding, text: `Fysisk trening: ${sessionKindText(input)}` };
  procedure.subject = ctx.subject;
  procedure.performedPeriod = ctx.period;
  procedure.performer = [{ actor: ctx.performer }];
  if (input.note !== undefined) procedure.note = [{ text: input.note }];
  // resourceType, status and subject, all Procedure requires, are set above.
  return procedure as Procedure;
}

function sessionKindText(input: HitSessionInput): string {
  if (input.modality === 'strength') return input.protocol === '4x4' ? '4x4-styrketrening' : 'styrketrening';
  return `${protocolText(input)} på ${MODALITY_NO[input.modality]}`;
}

/**
 * The Procedure's narrative as XHTML. Everything in it is written here from numbers and this
 * mapping's own words, except the input's own text (exercise names, the prescription's id, the HPR
 * number, the clinic's note), which is escaped where it is put in.
 */
function procedureNarrative(
  ctx: SessionContext,
  hrMax: UsedHrMax | undefined,
  assessment: SessionHeartRateAssessment | undefined,
  intervals: readonly IntervalInput[],
): string {
  const { input } = ctx;
  const zones = assessment?.zones;
  const summary: TableRow[] = [
    ['Tidsrom', periodText(input.startedAt, input.endedAt)],
    ['Prosedyre', `${OBAB00.code} ${OBAB00.display}`],
    ['Treningsform', capitalise(MODALITY_NO[input.modality])],
    ['Protokoll', capitalise(protocolText(input))],
    ['Makspuls (HRmax)', hrMax === undefined ? undefined : hrMaxShortText(hrMax)],
    [
      'Pulssone i intervallene',
      zones === undefined
        ? undefined
        : `${zones.interval.lowPercent}–${zones.interval.highPercent} % av HRmax = ${zones.interval.lowBpm}–${zones.interval.highBpm} slag/min`,
    ],
    [
      'Aktiv pause, mål',
      zones === undefined || (input.activePauses ?? []).length === 0
        ? undefined
        : `ca. ${zones.activePause.percent} % av HRmax = ${zones.activePause.bpm} slag/min`,
    ],
    ['Oppvarming', input.warmUpMinutes === undefined ? undefined : `${formatNumberNo(input.warmUpMinutes)} min`],
    ['Nedtrapping', input.coolDownMinutes === undefined ? undefined : `${formatNumberNo(input.coolDownMinutes)} min`],
    [
      'Tid i sone',
      assessment === undefined || intervals.length === 0 ? undefined : timeInZoneSummary(assessment, intervals),
    ],
    ['Borg (opplevd anstrengelse)', input.borgRpe === undefined ? undefined : borgText(input.borgRpe)],
    [
      'Forskrivning',
      input.prescriptionId === undefined
        ? undefined
        : `Gjennomført etter forskrivning ${escapeXml(input.prescriptionId)}`,
    ],
    ['Utført av', `Helsepersonell med HPR-nummer ${escapeXml(input.performer.hprNumber)}`],
  ];
  const parts = [
    `<p><b>Treningsøkt: ${sessionKindText(input)}</b></p>`,
    xhtmlTable(summary),
    intervalsTable(intervals, assessment),
    pausesTable(input.activePauses ?? [], assessment),
    strengthTable(input.strengthSets ?? []),
    warningsList(assessment, hrMax),
    input.note === undefined ? '' : `<p><b>Merknad fra klinikken:</b> ${escapeXml(input.note)}</p>`,
  ];
  return parts.join('');
}

/** The heads of a table's columns, as XHTML (built once per table, not once per narrative). */
function headCells(heads: readonly string[]): string {
  let xhtml = '';
  for (const head of heads) xhtml += `<th>${escapeXml(head)}</th>`;
  return xhtml;
}

/** A table with column heads and a title; nothing when it has no rows. Heads and rows are XHTML. */
function grid(title: string, headXhtml: string, rowsXhtml: string): string {
  if (rowsXhtml === '') return '';
  return `<p><b>${title}</b></p><table><thead><tr>${headXhtml}</tr></thead><tbody>${rowsXhtml}</tbody></table>`;
}

const INTERVAL_HEADS = headCells(['Nr.', 'Varighet', 'Snittpuls', 'Topppuls']);
const TIME_IN_ZONE_HEAD = headCells(['Tid i sone']);
const WORKLOAD_HEAD = headCells(['Fart og stigning']);

function intervalsTable(
  intervals: readonly IntervalInput[],
  assessment: SessionHeartRateAssessment | undefined,
): string {
  const hrMaxBpm = assessment?.zones.hrMaxBpm;
  // The time-in-zone column only when some interval reported it.
  const withTimeInZone = intervals.some((interval) => interval.secondsInZone !== undefined);
  const withWorkload = intervals.some(
    (interval) => interval.speedKmh !== undefined || interval.inclinePercent !== undefined,
  );
  const heads = INTERVAL_HEADS + (withTimeInZone ? TIME_IN_ZONE_HEAD : '') + (withWorkload ? WORKLOAD_HEAD : '');
  let rows = '';
  for (const [index, interval] of intervals.entries()) {
    rows +=
      `<tr><td>${index + 1}</td><td>${durationText(interval.durationSeconds)}</td>` +
      `<td>${bpmWithPercent(interval.meanHr, hrMaxBpm) ?? '–'}</td><td>${bpmWithPercent(interval.peakHr, hrMaxBpm) ?? '–'}</td>`;
    if (withTimeInZone) {
      const seconds = assessment?.intervals[index]?.secondsInZone;
      rows += `<td>${seconds === undefined ? 'ikke registrert' : durationText(seconds)}</td>`;
    }
    if (withWorkload) rows += `<td>${workloadText(interval) ?? '–'}</td>`;
    rows += '</tr>';
  }
  return grid('Arbeidsintervaller', heads, rows);
}

const PAUSE_HEADS = headCells(['Nr.', 'Varighet', 'Snittpuls']);

function pausesTable(pauses: readonly ActivePauseInput[], assessment: SessionHeartRateAssessment | undefined): string {
  const hrMaxBpm = assessment?.zones.hrMaxBpm;
  let rows = '';
  for (const [index, pause] of pauses.entries()) {
    rows +=
      `<tr><td>${index + 1}</td><td>${durationText(pause.durationSeconds)}</td>` +
      `<td>${bpmWithPercent(pause.meanHr, hrMaxBpm) ?? '–'}</td></tr>`;
  }
  return grid('Aktive pauser', PAUSE_HEADS, rows);
}

const STRENGTH_HEADS = headCells(['Øvelse', 'Sett × repetisjoner', 'Belastning', 'Andel av 1RM']);

function strengthTable(sets: readonly StrengthSetInput[]): string {
  let rows = '';
  for (const set of sets) {
    const share =
      set.oneRepMaxKg === undefined
        ? '1RM ikke oppgitt'
        : `${formatNumberNo((100 * set.loadKg) / set.oneRepMaxKg, 0)} % av ${formatNumberNo(set.oneRepMaxKg)} kg`;
    rows +=
      `<tr><td>${escapeXml(set.exercise)}</td><td>${set.sets} × ${set.reps}</td>` +
      `<td>${formatNumberNo(set.loadKg)} kg</td><td>${share}</td></tr>`;
  }
  return grid('Styrketrening', STRENGTH_HEADS, rows);
}

function warningsList(assessment: SessionHeartRateAssessment | undefined, hrMax: UsedHrMax | undefined): string {
  if (assessment === undefined || hrMax === undefined || assessment.flags.length === 0) return '';
  let items = '';
  for (const flag of assessment.flags) items += `<li>${flagText(flag, hrMax, assessment.intervals)}</li>`;
  return `<p><b>Advarsler</b></p><ul>${items}</ul>`;
}

function timeInZoneSummary(assessment: SessionHeartRateAssessment, intervals: readonly IntervalInput[]): string {
  if (assessment.minutesInZone === undefined) {
    const missing = assessment.intervalsWithoutTimeInZone;
    return missing.length === intervals.length
      ? 'Ikke registrert (pulsmåleren sendte ikke tid i sone)'
      : `Ikke registrert for intervall ${listNo(missing)}, så ingen sum`;
  }
  const totalMinutes = round1(intervals.reduce((sum, interval) => sum + interval.durationSeconds, 0) / 60);
  return `${formatNumberNo(assessment.minutesInZone)} min av ${formatNumberNo(totalMinutes)} min i arbeidsintervallene`;
}

// ---- Small formatting helpers ----

type ZonePosition = 'low' | 'normal' | 'high';

const POSITION_NO: Readonly<Record<ZonePosition, string>> = {
  low: 'Snittpulsen er under sonen',
  normal: 'Snittpulsen er i sonen',
  high: 'Snittpulsen er over sonen',
};

/** Where the interval's mean sits against the zone in whole bpm (the reference range shown). */
function zonePosition(assessed: IntervalAssessment, lowBpm: number, highBpm: number): ZonePosition | undefined {
  const mean = assessed.meanBpm;
  if (mean === undefined) return undefined;
  if (mean < lowBpm) return 'low';
  return mean > highBpm ? 'high' : 'normal';
}

function bpmWithPercent(bpm: number | undefined, hrMaxBpm: number | undefined): string | undefined {
  if (bpm === undefined) return undefined;
  const value = `${formatNumberNo(bpm)} slag/min`;
  return hrMaxBpm === undefined ? value : `${value} (${percentText(bpm, hrMaxBpm)})`;
}

function workloadText(interval: IntervalInput): string | undefined {
  const { speedKmh, inclinePercent } = interval;
  const speed = speedKmh === undefined ? undefined : `${formatNumberNo(speedKmh)} km/t`;
  const incline = inclinePercent === undefined ? undefined : `${formatNumberNo(inclinePercent)} % stigning`;
  if (speed === undefined || incline === undefined) return speed ?? incline;
  return `${speed}, ${incline}`;
}

function durationText(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds - minutes * 60);
  if (rest === 0) return `${minutes} min`;
  return minutes === 0 ? `${rest} s` : `${minutes} min ${rest} s`;
}

/** "23.11.2026 kl. 10.00–10.40 (40 min)"; both dates in full when the session crossed midnight. */
function periodText(start: string, end: string): string {
  const from = formatDateTimeNo(start);
  const to = formatDateTimeNo(end);
  const fromTime = from.indexOf(' kl. ');
  const toTime = to.indexOf(' kl. ');
  const sameDay = from.slice(0, fromTime) === to.slice(0, toTime);
  const minutes = Math.round((Date.parse(end) - Date.parse(start)) / 60_000);
  const span = sameDay ? `${from}–${to.slice(toTime + ' kl. '.length)}` : `${from} – ${to}`;
  return `${span} (${minutes} min)`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
