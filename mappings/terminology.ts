/**
 * Every code system, code and identifier system hit-bridge writes, in one place, each with its
 * source in docs/reference/ (README.md and terminology.md). Nothing here may be invented:
 * where no standard code exists, the concept is in our own CodeSystem (profiles/), and where a
 * source is weak the comment says UNCONFIRMED.
 */
import type { Coding } from 'fhir/r4.js';

/** Canonical base of everything hit-bridge publishes (profiles, CodeSystem, identifier systems). */
export const CANONICAL_BASE = 'https://hit-bridge.no/fhir';

export const SYSTEMS = {
  /**
   * NKPK (NCMP, NCSP, NCRP) as HL7 Norway's no-basis Procedure slices it. Which Volven OID means
   * exactly what is UNCONFIRMED (docs/reference/terminology.md §1.2); 7275 is what no-basis fixes.
   */
  nkpk: 'urn:oid:2.16.578.1.12.4.1.1.7275',
  /**
   * NCMP as DIPS Arena codes it: the system DIPSR4Procedure fixes for its NCMP slice
   * (docs/reference/dips.md §1). What Volven itself names 7220 is UNCONFIRMED (terminology.md §1.2).
   */
  ncmpDips: 'urn:oid:2.16.578.1.12.4.1.1.7220',
  snomed: 'http://snomed.info/sct',
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  /** HL7 v3 ObservationInterpretation (FHIR R4 core), for a value against its reference range. */
  observationInterpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  /** Our own CodeSystem for measurements no LOINC code exists for (profiles/CodeSystem-hit-bridge.json). */
  hitBridge: `${CANONICAL_BASE}/CodeSystem/hit-bridge`,
} as const;

export const IDENTIFIER_SYSTEMS = {
  fnr: 'urn:oid:2.16.578.1.12.4.1.4.1',
  dNumber: 'urn:oid:2.16.578.1.12.4.1.4.2',
  hpr: 'urn:oid:2.16.578.1.12.4.1.4.4',
  organisationNumber: 'urn:oid:2.16.578.1.12.4.1.4.101',
  resh: 'urn:oid:2.16.578.1.12.4.1.4.102',
  herId: 'urn:oid:2.16.578.1.12.4.1.2',
} as const;

/** OBAB00, "Veiledet og instruert fysisk trening knyttet til motorikk og/eller kondisjon" (NCMP, chapter OB Tiltak). */
export const OBAB00 = {
  system: SYSTEMS.nkpk,
  code: 'OBAB00',
  display: 'Veiledet og instruert fysisk trening knyttet til motorikk og/eller kondisjon',
} as const satisfies Coding;

/** What DIPS Arena's Procedure profile fixes (docs/reference/dips.md §1). */
export const DIPS = {
  procedureProfile: 'http://dips.no/fhir/R4/StructureDefinition/DIPSR4Procedure',
  /** The care episode (omsorgsepisode) a procedure is recorded on. */
  careEpisodeSystem: 'http://dips.no/fhir/namingsystem/dips-omsorgsepisodeid',
  /** Procedure.category for NCMP: the service type, in the same system as the code. */
  ncmpCategory: { system: SYSTEMS.ncmpDips, code: 'MP', display: 'NCMP Medisinske prosedyrekoder' },
} as const;

export const SNOMED = {
  exerciseTherapy: { system: SYSTEMS.snomed, code: '229065009', display: 'Exercise therapy' },
  referralToPhysicalActivityProgram: {
    system: SYSTEMS.snomed,
    code: '390893007',
    display: 'Referral to physical activity program',
  },
  dischargeFromHospital: { system: SYSTEMS.snomed, code: '308283009', display: 'Discharge from hospital' },
  /** Qualifier for the vital-signs exercise-association extension. */
  duringExercise: { system: SYSTEMS.snomed, code: '309604004', display: 'During exercise' },
} as const satisfies Record<string, Coding>;

export const LOINC = {
  heartRate: { system: SYSTEMS.loinc, code: '8867-4', display: 'Heart rate' },
  /** Secondary sources only, strongly agreeing (docs/reference/terminology.md §4); UNCONFIRMED at loinc.org. */
  vo2maxPerKg: {
    system: SYSTEMS.loinc,
    code: '94122-9',
    display: 'Oxygen consumption (VO2)/Body weight [Volume Rate Content] --peak during exercise',
  },
  exerciseDuration: { system: SYSTEMS.loinc, code: '55411-3', display: 'Exercise duration' },
  exerciseIntensity: { system: SYSTEMS.loinc, code: '74008-4', display: 'Exercise intensity' },
  /** Weakly sourced (docs/reference/terminology.md §4); display UNCONFIRMED. */
  sixMinuteWalkDistance: { system: SYSTEMS.loinc, code: '64098-7', display: 'Six minute walk test' },
} as const satisfies Record<string, Coding>;

/**
 * Our own codes: no LOINC or SNOMED code was found for these (docs/reference/terminology.md §4;
 * LOINC 82289-0 is a 0–10 scale, not Borg 6–20). The CodeSystem resource in profiles/ lists
 * exactly these; a unit test keeps the two in step.
 */
export const HIT_CODES = {
  borgRpe: { system: SYSTEMS.hitBridge, code: 'borg-rpe', display: 'Borg RPE 6–20' },
  hrMaxEstimated: { system: SYSTEMS.hitBridge, code: 'hrmax-estimated', display: 'Maximal heart rate, estimated' },
  hrMaxMeasured: { system: SYSTEMS.hitBridge, code: 'hrmax-measured', display: 'Maximal heart rate, measured' },
  oneRepMax: { system: SYSTEMS.hitBridge, code: 'one-rep-max', display: 'One-repetition maximum (1RM)' },
  timeInZone: {
    system: SYSTEMS.hitBridge,
    code: 'time-in-zone',
    display: 'Time in the interval zone (85–95 % of maximal heart rate)',
  },
  fitnessAge: { system: SYSTEMS.hitBridge, code: 'fitness-age', display: 'Fitness age (kondisjonsalder), estimate' },
  strengthSet: { system: SYSTEMS.hitBridge, code: 'strength-set', display: 'Strength training set' },
  /** Groups one fitness test's results (hasMember); there is no NCMP code for a fitness test in the reference. */
  fitnessTest: { system: SYSTEMS.hitBridge, code: 'fitness-test', display: 'Fitness test (its results grouped)' },
  /** Component of a session's per-interval heart rate (LOINC 8867-4 carries the mean); no LOINC code for "peak within one bout" was found (55426-1 is by pedometer). */
  heartRatePeak: { system: SYSTEMS.hitBridge, code: 'heart-rate-peak', display: 'Peak heart rate in one interval' },
  /** Components of a strength-set Observation (no LOINC or SNOMED codes in the reference). */
  strengthExercise: { system: SYSTEMS.hitBridge, code: 'strength-exercise', display: 'Strength exercise' },
  strengthSets: { system: SYSTEMS.hitBridge, code: 'strength-sets', display: 'Number of sets' },
  strengthReps: { system: SYSTEMS.hitBridge, code: 'strength-reps', display: 'Repetitions per set' },
  percentOfOneRepMax: {
    system: SYSTEMS.hitBridge,
    code: 'percent-of-one-rep-max',
    display: 'Load as percent of one-repetition maximum (1RM)',
  },
  /**
   * Target of an attendance goal in a prescription. Not LOINC 89555-7 (Exercise Vital Sign days a
   * week): that is self-reported activity of any kind, not prescribed sessions carried out.
   */
  trainingSessionsPerWeek: {
    system: SYSTEMS.hitBridge,
    code: 'training-sessions-per-week',
    display: 'Training sessions carried out per week',
  },
} as const satisfies Record<string, Coding>;

export const CATEGORY = {
  activity: { system: SYSTEMS.observationCategory, code: 'activity', display: 'Activity' },
  exam: { system: SYSTEMS.observationCategory, code: 'exam', display: 'Exam' },
  vitalSigns: { system: SYSTEMS.observationCategory, code: 'vital-signs', display: 'Vital Signs' },
} as const satisfies Record<string, Coding>;

/** A value against its Observation.referenceRange (FHIR R4 core ObservationInterpretation codes). */
export const INTERPRETATION = {
  low: { system: SYSTEMS.observationInterpretation, code: 'L', display: 'Low' },
  normal: { system: SYSTEMS.observationInterpretation, code: 'N', display: 'Normal' },
  high: { system: SYSTEMS.observationInterpretation, code: 'H', display: 'High' },
} as const satisfies Record<string, Coding>;

/** HL7 vital-signs IG extension saying a measurement was taken during exercise (docs/reference/terminology.md §4). */
export const EXERCISE_ASSOCIATION_EXTENSION =
  'http://hl7.org/fhir/us/vitals/StructureDefinition/ExerciseAssociationExt';

/** UCUM units as written in Quantity.code (and .unit). */
export const UNITS = {
  perMinute: '/min',
  mlPerKgPerMinute: 'mL/kg/min',
  minutes: 'min',
  seconds: 's',
  kilograms: 'kg',
  metres: 'm',
  percent: '%',
  kilometresPerHour: 'km/h',
  score: '{score}',
  years: 'a',
  /**
   * Prescribed training sessions a week: a count per week. Not "{sessions}/wk": HAPI warns that
   * UCUM annotations are ignored in comparisons; the measure's code already says what is counted.
   */
  perWeek: '/wk',
} as const;

export function profileUrl(id: string): string {
  return `${CANONICAL_BASE}/StructureDefinition/${id}`;
}
