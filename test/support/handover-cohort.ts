/**
 * Synthetic discharges for the handover: per variant, the clinic inputs of one stay (a
 * prescription, its sessions, the fitness tests), the discharge, the Frisklivssentral's
 * directory entry and the hospital contact. The integration tests and the demo POST these same
 * inputs; the unit tests run them through OUR mappings (mappings/registry.ts) and an EHR-like
 * store step (ehr-view.ts), so the packet builders read what the EHR will really hold.
 *
 * Synthetic only: national ids with month + 80, fictional names, +47 400 00 0xx phones,
 * example.no e-mail. The typical variant follows the St. Olavs study dose (docs/reference/fitness.md §5): 4x4
 * three times a week for 8 weeks, VO2max 42.3 → 48.7 mL/kg/min.
 */
import type {
  DischargeInput,
  FitnessTestInput,
  HitSessionInput,
  PrescriptionInput,
  StrengthSetInput,
} from '../../mappings/inputs.ts';
import type { FrisklivssentralEntry, HandoverFacts } from '../../src/handover/types.ts';

export const COHORT_VARIANTS = [
  'typical',
  'no-contact-details',
  'interval-only-estimated-hrmax',
  'strength-only',
  'training-contact-declined',
  'no-training-contact',
  'frisklivssentral-declined',
] as const;
export type CohortVariant = (typeof COHORT_VARIANTS)[number];

export interface HandoverCohort {
  readonly variant: CohortVariant;
  readonly prescription: PrescriptionInput;
  readonly sessions: readonly HitSessionInput[];
  readonly fitnessTests: readonly FitnessTestInput[];
  readonly discharge: DischargeInput;
  readonly frisklivssentral: FrisklivssentralEntry;
  readonly hospitalContact: HandoverFacts['hospitalContact'];
  /** When the packets are made (the builders read no clock). */
  readonly generatedAt: string;
}

/** Male, born 15 March 1988 (synthetic: month + 80); the id the mapping fixtures use. */
export const TYPICAL_NATIONAL_ID = '15838812381';
/** Female, born 12 June 1971 (synthetic: month + 80). */
export const SECOND_NATIONAL_ID = '12867148491';

export const COHORT_HPR = { prescriber: '9144889', therapist: '9144900', tester: '9144901' } as const;

export const FRISKLIVSSENTRAL: FrisklivssentralEntry = {
  municipality: '5001',
  name: 'Frisklivssentralen i Trondheim',
  herId: '8012345',
  organisationNumber: '123456785',
  phone: '+47 400 00 010',
  email: 'frisklivssentralen@example.no',
  channel: 'edi',
};

/**
 * A recipient directory (YAML, as RECIPIENT_DIRECTORY_PATH reads it) with the cohort's
 * Frisklivssentral alone, on the event stream only (channel kafka) unless told otherwise; with
 * `fhirEndpoint`, the document is also POSTed there (channel fhir).
 */
export function recipientDirectoryYaml(
  options: { readonly fhirEndpoint?: string; readonly channel?: 'edi' | 'fhir' | 'kafka' } = {},
): string {
  const channel = options.channel ?? (options.fhirEndpoint === undefined ? 'kafka' : 'fhir');
  return [
    'municipalities:',
    `  '${FRISKLIVSSENTRAL.municipality}':`,
    `    name: ${FRISKLIVSSENTRAL.name}`,
    `    herId: '${FRISKLIVSSENTRAL.herId}'`,
    `    organisationNumber: '${FRISKLIVSSENTRAL.organisationNumber}'`,
    `    phone: '${FRISKLIVSSENTRAL.phone}'`,
    `    email: ${FRISKLIVSSENTRAL.email}`,
    `    channel: ${channel}`,
    ...(options.fhirEndpoint === undefined ? [] : [`    fhirEndpoint: ${options.fhirEndpoint}`]),
    '',
  ].join('\n');
}

export const HOSPITAL_CONTACT: HandoverFacts['hospitalContact'] = {
  name: 'Ingrid Treningsfysiolog',
  organisation: 'St. Olavs hospital, Klinikk for rus og avhengighet',
  phone: '+47 400 00 020',
  email: 'treningsklinikken@example.no',
};

const DAY_MS = 86_400_000;

function addDays(isoDate: string, days: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The shape of one stay: who, when, how much training, which days, what was missed, the tests. */
export interface StayShape {
  readonly nationalId: string;
  readonly start: string;
  readonly weeks: number;
  readonly hrMaxBpm?: number;
  readonly interval?: { readonly perWeek: number; readonly modality: 'treadmill' | 'cycle' };
  readonly strength?: { readonly perWeek: number };
  /** Training days used in each week (offsets from Monday); the first `perWeek` are prescribed. */
  readonly days: readonly number[];
  /** Sessions left out (0-based index over the whole stay), for attendance below 100 %. */
  readonly missed: readonly number[];
  readonly tests: readonly {
    readonly day: number;
    readonly vo2max?: number;
    readonly oneRm?: readonly [number, number];
  }[];
}

/** The St. Olavs study dose: 4x4 three times a week and strength twice, 8 weeks, VO2max 42.3 → 48.7. */
const TYPICAL: StayShape = {
  nationalId: TYPICAL_NATIONAL_ID,
  start: '2026-01-05',
  weeks: 8,
  hrMaxBpm: 186,
  interval: { perWeek: 3, modality: 'treadmill' },
  strength: { perWeek: 2 },
  days: [0, 2, 4],
  missed: [],
  tests: [
    { day: 0, vo2max: 42.3, oneRm: [100, 70] },
    { day: 55, vo2max: 48.7, oneRm: [120, 85] },
  ],
};

const SHAPES: Record<CohortVariant, StayShape> = {
  typical: TYPICAL,
  'no-contact-details': {
    nationalId: SECOND_NATIONAL_ID,
    start: '2026-02-02',
    weeks: 8,
    hrMaxBpm: 174,
    interval: { perWeek: 3, modality: 'treadmill' },
    strength: { perWeek: 2 },
    days: [0, 2, 4],
    missed: [4, 11, 17],
    tests: [
      { day: 0, vo2max: 30.4, oneRm: [70, 45] },
      { day: 27, vo2max: 32.1 },
      { day: 55, vo2max: 33.9, oneRm: [82, 52.5] },
    ],
  },
  'interval-only-estimated-hrmax': {
    nationalId: SECOND_NATIONAL_ID,
    start: '2026-03-02',
    weeks: 6,
    interval: { perWeek: 2, modality: 'cycle' },
    days: [1, 3],
    missed: [5],
    tests: [
      { day: 0, vo2max: 28.5 },
      { day: 41, vo2max: 30.2 },
    ],
  },
  'strength-only': {
    nationalId: TYPICAL_NATIONAL_ID,
    start: '2026-04-06',
    weeks: 4,
    strength: { perWeek: 2 },
    days: [0, 3],
    missed: [],
    tests: [
      { day: 0, oneRm: [90, 60] },
      { day: 27, oneRm: [100, 67.5] },
    ],
  },
  'training-contact-declined': TYPICAL,
  'no-training-contact': {
    nationalId: TYPICAL_NATIONAL_ID,
    start: '2026-01-05',
    weeks: 8,
    hrMaxBpm: 186,
    interval: { perWeek: 3, modality: 'treadmill' },
    days: [0, 2, 4],
    missed: [],
    tests: [
      { day: 0, vo2max: 42.3 },
      { day: 55, vo2max: 48.7 },
    ],
  },
  'frisklivssentral-declined': TYPICAL,
};

const EXERCISES = ['beinpress', 'knebøy'] as const;

/** Everything about one stay besides its shape: the ids, who the patient names, what was agreed. */
export interface Stay {
  readonly shape: StayShape;
  /** The sending system: keeps identifiers apart on shared peers. */
  readonly source: string;
  /** Names the stay's inputs: RX-<label>, S-RX-<label>-NN, FT-<label>-N, D-<label>. */
  readonly label: string;
  readonly givenName: string;
  /** The patient's phone and e-mail, when the discharge gives them. */
  readonly contact?: { readonly phone: string; readonly email: string };
  readonly municipality: string;
  /** The named training contact: with phone and e-mail, name only, or none. */
  readonly trainingContact: { readonly name: string; readonly phone?: string; readonly email?: string } | undefined;
  readonly consent: { readonly frisklivssentral: boolean; readonly trainingContact: boolean };
  readonly summary: string;
}

export interface StayInputs {
  readonly prescription: PrescriptionInput;
  readonly sessions: readonly HitSessionInput[];
  readonly fitnessTests: readonly FitnessTestInput[];
  readonly discharge: DischargeInput;
  /** When the packets are made: half an hour after the discharge. */
  readonly generatedAt: string;
}

const TYPICAL_SUMMARY =
  'Innlagt for rusbehandling. Har trent 4x4 på tredemølle tre ganger i uka med god gjennomføring og ' +
  'tydelig framgang i kondisjon.\n\nØnsker å fortsette å trene sammen med treningskontakten sin.';

/** Every input of one synthetic stay; `source` keeps identifiers apart on shared peers. */
export function handoverCohort(variant: CohortVariant = 'typical', source = 'handover-test'): HandoverCohort {
  const shape = SHAPES[variant];
  const inputs = stayInputs({
    shape,
    source,
    label: variant,
    givenName: shape.nationalId === TYPICAL_NATIONAL_ID ? 'Ola' : 'Kari',
    ...(variant === 'no-contact-details' ? {} : { contact: { phone: '+47 400 00 001', email: 'pasient@example.no' } }),
    municipality: FRISKLIVSSENTRAL.municipality,
    trainingContact:
      variant === 'no-training-contact'
        ? undefined
        : variant === 'no-contact-details'
          ? { name: 'Per Turvenn' }
          : { name: 'Per Turvenn', phone: '+47 400 00 002', email: 'treningskontakt@example.no' },
    consent: {
      frisklivssentral: variant !== 'frisklivssentral-declined',
      trainingContact: variant !== 'training-contact-declined',
    },
    summary: TYPICAL_SUMMARY,
  });
  return { variant, ...inputs, frisklivssentral: FRISKLIVSSENTRAL, hospitalContact: HOSPITAL_CONTACT };
}

/** The clinic inputs of one stay, in the order a clinic sends them: prescription, sessions and tests, discharge. */
export function stayInputs(stay: Stay): StayInputs {
  const { shape, source, label } = stay;
  const prescriptionId = `RX-${label}`;
  const patient = { nationalId: shape.nationalId };
  const prescription: PrescriptionInput = {
    prescriptionId,
    source,
    patient,
    prescriber: { hprNumber: COHORT_HPR.prescriber },
    issuedAt: `${addDays(shape.start, -3)}T10:15:00+01:00`,
    start: shape.start,
    weeks: shape.weeks,
    ...(shape.hrMaxBpm === undefined ? {} : { hrMax: { bpm: shape.hrMaxBpm, method: 'measured' as const } }),
    components: [
      ...(shape.interval === undefined
        ? []
        : [
            {
              kind: 'interval' as const,
              protocol: '4x4' as const,
              sessionsPerWeek: shape.interval.perWeek,
              modality: shape.interval.modality,
              ...(shape.interval.modality === 'treadmill' ? { inclinePercentMin: 5 } : {}),
            },
          ]),
      ...(shape.strength === undefined
        ? []
        : [
            {
              kind: 'strength' as const,
              sessionsPerWeek: shape.strength.perWeek,
              sets: 4,
              reps: 4,
              intensityPercent1RM: [85, 90] as const,
              exercises: [...EXERCISES],
            },
          ]),
    ],
    goals: [{ description: 'Gjennomføre alle foreskrevne treningsøkter', measure: 'attendance', target: 3 }],
    note: 'Trener helst før lunsj.',
  };

  const sessions: HitSessionInput[] = [];
  let index = 0;
  for (let week = 0; week < shape.weeks; week += 1) {
    for (const [slot, dayOffset] of shape.days.entries()) {
      const n = index;
      index += 1;
      if (shape.missed.includes(n)) continue;
      const date = addDays(shape.start, week * 7 + dayOffset);
      sessions.push(sessionInput({ shape, source, prescriptionId, date, n, withStrength: strengthDay(shape, slot) }));
    }
  }

  const fitnessTests = shape.tests.map((test, i): FitnessTestInput => ({
    testId: `FT-${label}-${i + 1}`,
    source,
    patient,
    performer: { hprNumber: COHORT_HPR.tester },
    performedAt: `${addDays(shape.start, test.day)}T08:30:00+01:00`,
    kind: test.vo2max === undefined ? 'one-rep-max' : 'treadmill-max',
    ...(test.vo2max === undefined ? {} : { vo2max: { value: test.vo2max, method: 'measured' as const } }),
    ...(test.oneRm === undefined
      ? {}
      : { oneRepMax: EXERCISES.map((exercise, e) => ({ exercise, kg: test.oneRm?.[e] ?? 0 })) }),
  }));

  const lastDay = addDays(shape.start, shape.weeks * 7);
  const discharge: DischargeInput = {
    dischargeId: `D-${label}`,
    source,
    patient: { ...patient, givenName: stay.givenName, ...(stay.contact ?? {}) },
    dischargedAt: `${lastDay}T12:00:00+01:00`,
    prescriptionId,
    municipality: stay.municipality,
    recipients: stay.trainingContact === undefined ? {} : { trainingContact: stay.trainingContact },
    consent: { ...stay.consent },
    summary: stay.summary,
  };

  return { prescription, sessions, fitnessTests, discharge, generatedAt: `${lastDay}T12:30:00+01:00` };
}

/** Strength on the first and last training day of the week (Monday and Friday in the typical stay). */
function strengthDay(shape: StayShape, slot: number): boolean {
  if (shape.strength === undefined) return false;
  if (shape.interval === undefined) return true;
  return slot === 0 || slot === shape.days.length - 1;
}

function sessionInput(args: {
  shape: StayShape;
  source: string;
  prescriptionId: string;
  date: string;
  n: number;
  withStrength: boolean;
}): HitSessionInput {
  const { shape, source, prescriptionId, date, n, withStrength } = args;
  const strengthSets: StrengthSetInput[] = withStrength
    ? [
        { exercise: 'beinpress', sets: 4, reps: 4, loadKg: 85 + Math.floor(n / 6) * 2.5 },
        { exercise: 'knebøy', sets: 4, reps: 4, loadKg: 60 + Math.floor(n / 6) * 2.5 },
      ]
    : [];
  const common = {
    sessionId: `S-${prescriptionId}-${String(n + 1).padStart(2, '0')}`,
    source,
    patient: { nationalId: shape.nationalId },
    performer: { hprNumber: COHORT_HPR.therapist },
    startedAt: `${date}T10:00:00+01:00`,
    prescriptionId,
    ...(shape.hrMaxBpm === undefined ? {} : { hrMax: { bpm: shape.hrMaxBpm, method: 'measured' as const } }),
    ...(strengthSets.length === 0 ? {} : { strengthSets }),
  };
  if (shape.interval === undefined) {
    return { ...common, endedAt: `${date}T10:45:00+01:00`, modality: 'strength', protocol: '4x4', borgRpe: 15 };
  }
  const mean = 160 + (n % 4);
  return {
    ...common,
    endedAt: `${date}T10:${withStrength ? '55' : '40'}:00+01:00`,
    modality: shape.interval.modality,
    protocol: '4x4',
    warmUpMinutes: 10,
    intervals: [0, 1, 2, 3].map((i) => ({
      durationSeconds: 240,
      meanHr: mean + i * 2,
      peakHr: mean + i * 2 + 8,
      secondsInZone: 180 + i * 10,
    })),
    activePauses: [0, 1, 2].map((i) => ({ durationSeconds: 180, meanHr: 128 + i })),
    coolDownMinutes: 5,
    borgRpe: 17,
  };
}
