/**
 * A fitness test → a FHIR R4 transaction Bundle of Observations.
 *
 * What the EHR receives (every resource created once, on its business identifier):
 * - one grouping Observation (profile hit-fitness-test-panel, our code `fitness-test`) that names
 *   the test, carries the submaximal stage's conditions as components when there was one, and
 *   lists the results as `hasMember` — the entry a clinician opens to see the whole test;
 * - VO2max per kg (LOINC 94122-9), measured or estimated. For a `treadmill-submax` test sent
 *   without a VO2max it is estimated here with the Ebbeling single-stage equation; a VO2max the
 *   clinic sent is never replaced;
 * - maximal heart rate (our codes hrmax-measured / hrmax-estimated; the shared hit-hrmax profile);
 * - fitness age (our code fitness-age, an estimate) from the VO2max against the HUNT3 means for
 *   the patient's sex, `derivedFrom` the VO2max Observation;
 * - one 1RM Observation per exercise (our code one-rep-max);
 * - six-minute walk distance (LOINC 64098-7 — weakly sourced, docs/reference/terminology.md §4).
 *
 * No Procedure: the reference has no procedure code for a fitness test, and OBAB00 is supervised
 * *training* ("Veiledet og instruert fysisk trening …"), not testing, so it is not used here.
 * No Patient either: the patient and the tester are conditional references the EHR resolves.
 *
 * Pure: the patient's age and sex come from the national id and the test's date; no clock.
 */
import type {
  Annotation,
  Bundle,
  CodeableConcept,
  Coding,
  Identifier,
  Observation,
  ObservationComponent,
  Reference,
} from 'fhir/r4.js';
import { ebbelingVo2max, EBBELING, KM_PER_MILE, type EbbelingEstimate } from '../src/domain/ebbeling.ts';
import { fitnessAge, percentOfExpectedVo2max, type FitnessAge } from '../src/domain/fitness-age.ts';
import { estimateHrMax } from '../src/domain/heart-rate.ts';
import type { Sex } from '../src/domain/sex.ts';
import {
  businessIdentifier,
  createOnce,
  formatDateTimeNo,
  formatNumberNo,
  fullUrlFor,
  narrativeTable,
  patientOn,
  referenceToPatient,
  practitionerReference,
  transactionBundle,
  type MappingOptions,
  type TableRow,
} from './common.ts';
import type { FitnessTestInput, FitnessTestKind, HrMaxMethod } from './inputs.ts';
import { CATEGORY, HIT_CODES, LOINC, profileUrl, SYSTEMS, UNITS } from './terminology.ts';

export const FITNESS_TEST_PROFILES = {
  panel: profileUrl('hit-fitness-test-panel'),
  vo2max: profileUrl('hit-vo2max'),
  /** Shared with the HIT-session mapping. */
  hrMax: profileUrl('hit-hrmax'),
  fitnessAge: profileUrl('hit-fitness-age'),
  oneRepMax: profileUrl('hit-one-rep-max'),
  sixMinuteWalk: profileUrl('hit-six-minute-walk'),
} as const;

/** Norwegian names of the test kinds, as a clinician would write them. */
const KIND_LABELS: Readonly<Record<FitnessTestKind, string>> = {
  'treadmill-max': 'maksimal tredemølletest',
  'treadmill-submax': 'submaksimal tredemølletest',
  'six-minute': '6 minutters gangtest',
  'one-rep-max': 'styrketest (1RM)',
};

const SEX_PLURAL: Readonly<Record<Sex, string>> = { male: 'menn', female: 'kvinner' };
const SEX_SINGULAR: Readonly<Record<Sex, string>> = { male: 'mann', female: 'kvinne' };

/** Everything each resource shares: who, when, and where its identifiers come from. */
interface TestContext {
  readonly input: FitnessTestInput;
  readonly sex: Sex;
  readonly ageYears: number;
  readonly subject: Reference;
  readonly performer: Reference;
  readonly when: string;
}

/** The VO2max the Bundle reports, and where it came from. */
type Vo2max =
  | { readonly source: 'sent'; readonly value: number; readonly method: HrMaxMethod }
  | { readonly source: 'ebbeling'; readonly value: number; readonly estimate: EbbelingEstimate };

type Vo2maxResolution = { readonly vo2max: Vo2max } | { readonly vo2max: undefined; readonly missing?: string };

/** An Observation built here: it always carries exactly its one business identifier. */
type IdentifiedObservation = Observation & { identifier: [Identifier] };

/** One result: its Observation and the line the grouping Observation's narrative shows for it. */
interface Member {
  readonly observation: IdentifiedObservation;
  readonly summary: readonly [string, string];
}

export function mapFitnessTest(input: FitnessTestInput, _options: MappingOptions): Bundle {
  const ctx = contextOf(input);
  const results: Member[] = [];

  const resolution = resolveVo2max(ctx);
  const vo2max = resolution.vo2max === undefined ? undefined : vo2maxObservation(ctx, resolution.vo2max);
  if (vo2max !== undefined) results.push(vo2max);
  if (input.hrMax !== undefined) results.push(hrMaxObservation(ctx, input.hrMax.bpm, input.hrMax.method));
  if (resolution.vo2max !== undefined && vo2max !== undefined) {
    const age = fitnessAgeObservation(ctx, resolution.vo2max, vo2max.observation);
    if (age !== undefined) results.push(age);
  }
  for (const [index, lift] of (input.oneRepMax ?? []).entries()) {
    results.push(oneRepMaxObservation(ctx, index + 1, lift.exercise, lift.kg));
  }
  if (input.sixMinuteDistanceMeters !== undefined) {
    results.push(sixMinuteWalkObservation(ctx, input.sixMinuteDistanceMeters));
  }

  const missing = 'missing' in resolution ? resolution.missing : undefined;
  const panel = panelObservation(ctx, results, missing);
  return transactionBundle(businessIdentifier(input.source, 'fitness-test', input.testId), [
    createOnce(panel),
    ...results.map((result) => createOnce(result.observation)),
  ]);
}

// ---- The patient and the test ----

function contextOf(input: FitnessTestInput): TestContext {
  const patient = patientOn(input.patient.nationalId, input.performedAt);
  return {
    input,
    sex: patient.id.sex,
    ageYears: patient.age,
    subject: referenceToPatient(patient.id),
    performer: practitionerReference(input.performer.hprNumber),
    when: formatDateTimeNo(input.performedAt),
  };
}

// ---- VO2max ----

/**
 * A VO2max the clinic sent always wins (measured or their own estimate). Only a treadmill-submax
 * test without one is estimated, by the Ebbeling single-stage equation from the stage's data and
 * the patient's age and sex (docs/reference/fitness.md §6).
 */
function resolveVo2max(ctx: TestContext): Vo2maxResolution {
  const { input } = ctx;
  if (input.vo2max !== undefined) {
    return { vo2max: { source: 'sent', value: input.vo2max.value, method: input.vo2max.method } };
  }
  if (input.kind !== 'treadmill-submax') return { vo2max: undefined };
  if (input.submax === undefined) {
    return {
      vo2max: undefined,
      missing: 'VO2max mangler: ingen VO2max oppgitt og ingen submaksimale data å estimere fra.',
    };
  }
  const estimate = ebbelingVo2max({
    sex: ctx.sex,
    ageYears: ctx.ageYears,
    heartRateBpm: input.submax.steadyStateHr,
    speed: { value: input.submax.speedKmh, unit: 'km/h' },
  });
  if (!estimate.ok) {
    return {
      vo2max: undefined,
      missing:
        'VO2max kunne ikke estimeres med Ebbeling-likningen fra de submaksimale verdiene (hastighet, puls, alder); kontroller verdiene.',
    };
  }
  return { vo2max: { source: 'ebbeling', value: estimate.value.vo2maxMlKgMin, estimate: estimate.value } };
}

const EBBELING_METHOD =
  'Estimert med Ebbelings enkelttrinns gangtest på tredemølle (Ebbeling et al., MSSE 1991;23(8):966-73)';

function vo2maxMethodText(ctx: TestContext, vo2max: Vo2max): string {
  if (vo2max.source === 'ebbeling') return EBBELING_METHOD;
  const kind = KIND_LABELS[ctx.input.kind];
  // "measured" means with gas analysis (contracts/schemas/fitness-test.schema.json).
  if (vo2max.method === 'estimated') return `Estimert av klinikken ved ${kind}`;
  return ctx.input.kind === 'treadmill-max' ? `Målt med gassanalyse ved ${kind}` : 'Målt med gassanalyse';
}

function isEstimate(vo2max: Vo2max): boolean {
  return vo2max.source === 'ebbeling' || vo2max.method === 'estimated';
}

/**
 * What a clinician must know about an Ebbeling estimate, in Norwegian: the domain's warnings,
 * plus the two protocol conditions the equation assumes and the domain cannot see (a 5 % grade,
 * a stage of at least 4 minutes; docs/reference/fitness.md §6).
 */
function ebbelingNotes(ctx: TestContext, estimate: EbbelingEstimate): string[] {
  const notes: string[] = [];
  const submax = ctx.input.submax;
  if (submax !== undefined && submax.inclinePercent !== EBBELING.gradePercent) {
    notes.push(
      `Stigningen var ${formatNumberNo(submax.inclinePercent)} %; likningen er utviklet for trinnet på ${EBBELING.gradePercent} % stigning.`,
    );
  }
  if (submax !== undefined && submax.durationMinutes < 4) {
    notes.push(
      `Trinnet varte ${formatNumberNo(submax.durationMinutes)} min; protokollen er 4 min, så pulsen var kanskje ikke stabil.`,
    );
  }
  for (const warning of estimate.warnings) {
    switch (warning.code) {
      case 'speed-outside-validated-range':
        notes.push(
          `Hastigheten (${formatNumberNo(estimate.speedMph, 2)} mph = ${formatNumberNo(estimate.speedMph * KM_PER_MILE)} km/t) ` +
            `er utenfor ${formatNumberNo(EBBELING.speedMph.min)}–${formatNumberNo(EBBELING.speedMph.max)} mph som likningen er utviklet for.`,
        );
        break;
      case 'age-outside-validated-range':
        notes.push(
          `Alderen (${ctx.ageYears} år) er utenfor ${EBBELING.ageYears.min}–${EBBELING.ageYears.max} år som likningen er utviklet for.`,
        );
        break;
      default:
        notes.push(warning.message);
    }
  }
  notes.push(
    `Standard estimeringsfeil (SEE) ${formatNumberNo(estimate.seeMlKgMin, 2)} mL/kg/min. Testen kan underestimere kondisjonen hos godt trente (PhenX).`,
  );
  return notes;
}

function vo2maxObservation(ctx: TestContext, vo2max: Vo2max): Member {
  const estimated = isEstimate(vo2max);
  const value = `${formatNumberNo(vo2max.value)} mL/kg/min${estimated ? ' (estimat)' : ' (målt)'}`;
  const notes = vo2max.source === 'ebbeling' ? ebbelingNotes(ctx, vo2max.estimate) : [];
  const submax = ctx.input.submax;
  const basis =
    vo2max.source === 'ebbeling' && submax !== undefined
      ? `Gange ${formatNumberNo(submax.speedKmh)} km/t (${formatNumberNo(vo2max.estimate.speedMph, 2)} mph) i ` +
        `${formatNumberNo(submax.durationMinutes)} min på ${formatNumberNo(submax.inclinePercent)} % stigning, ` +
        `puls ${formatNumberNo(submax.steadyStateHr)} slag/min; ${SEX_SINGULAR[ctx.sex]}, ${ctx.ageYears} år`
      : undefined;
  const observation = makeObservation(ctx, 'vo2max', FITNESS_TEST_PROFILES.vo2max, {
    title: estimated ? 'VO2max (estimat)' : 'VO2max',
    rows: [
      ['Verdi', value],
      ['Metode', vo2maxMethodText(ctx, vo2max)],
      ['Grunnlag', basis],
      ['Sammenlignet med jevnaldrende', expectedText(ctx, vo2max.value)],
      ['Merknader', notes.length === 0 ? undefined : notes.join(' ')],
    ],
    code: { coding: [LOINC.vo2maxPerKg], text: 'VO2max per kg kroppsvekt' },
    value: { value: vo2max.value, unit: UNITS.mlPerKgPerMinute, system: SYSTEMS.ucum, code: UNITS.mlPerKgPerMinute },
    method: vo2maxMethodText(ctx, vo2max),
    notes,
  });
  return { observation, summary: ['VO2max', value] };
}

/** "93 % av gjennomsnittet for kvinner 50–59 år (34,4 mL/kg/min, HUNT3)", or undefined outside the norms' ages. */
function expectedText(ctx: TestContext, vo2maxMlKgMin: number): string | undefined {
  const expected = percentOfExpectedVo2max({ sex: ctx.sex, ageYears: ctx.ageYears, vo2maxMlKgMin });
  if (!expected.ok) return undefined;
  const { roundedPercent, ageBand, expectedMlKgMin } = expected.value;
  return `${roundedPercent} % av gjennomsnittet for ${SEX_PLURAL[ctx.sex]} ${ageBand} år (${formatNumberNo(expectedMlKgMin)} mL/kg/min, HUNT3)`;
}

// ---- Maximal heart rate ----

function hrMaxObservation(ctx: TestContext, bpm: number, method: HrMaxMethod): Member {
  const measured = method === 'measured';
  const value = `${formatNumberNo(bpm)} slag/min${measured ? ' (målt)' : ' (estimat)'}`;
  const methodText = measured
    ? ctx.input.kind === 'treadmill-max'
      ? `Målt ved ${KIND_LABELS[ctx.input.kind]}`
      : 'Målt (oppgitt av klinikken)'
    : estimatedHrMaxMethod(ctx, bpm);
  const observation = makeObservation(ctx, 'hrmax', FITNESS_TEST_PROFILES.hrMax, {
    title: measured ? 'Makspuls' : 'Makspuls (estimat)',
    rows: [
      ['Verdi', value],
      ['Metode', methodText],
    ],
    code: { coding: [measured ? HIT_CODES.hrMaxMeasured : HIT_CODES.hrMaxEstimated], text: 'Makspuls' },
    value: { value: bpm, unit: UNITS.perMinute, system: SYSTEMS.ucum, code: UNITS.perMinute },
    method: methodText,
    notes: [],
  });
  return { observation, summary: ['Makspuls', value] };
}

/**
 * The clinic sends an estimated HRmax without its equation; say whether it is the project's
 * HUNT estimate (211 − 0.64 × age, docs/reference/fitness.md §1) for the patient's age, or what that would be.
 */
function estimatedHrMaxMethod(ctx: TestContext, bpm: number): string {
  const hunt = estimateHrMax(ctx.ageYears);
  if (!hunt.ok) return 'Estimert av klinikken (formel ikke oppgitt)';
  const formula = `HUNT-formelen 211 − 0,64 × alder (Nes et al. 2013) for ${ctx.ageYears} år`;
  return hunt.value.bpm === Math.round(bpm)
    ? `Estimert; samsvarer med ${formula}`
    : `Estimert av klinikken (formel ikke oppgitt); ${formula} gir ${hunt.value.bpm} slag/min`;
}

// ---- Fitness age ----

const FITNESS_AGE_METHOD_NO =
  'Estimat: alderen der gjennomsnittlig VO2max for kjønnet i HUNT3 (Loe et al. 2013) er lik pasientens; ' +
  'lineær interpolasjon mellom tiårsmidtpunktene, avgrenset til 20–90 år';

function fitnessAgeObservation(ctx: TestContext, vo2max: Vo2max, vo2maxObs: IdentifiedObservation): Member | undefined {
  const result = fitnessAge({ sex: ctx.sex, vo2maxMlKgMin: vo2max.value });
  if (!result.ok) return undefined;
  const age: FitnessAge = result.value;
  const value = `${age.roundedYears} år (estimat)`;
  const notes = [
    'Estimat. NTNUs egen algoritme for kondisjonsalder er ikke publisert; dette er prosjektets metode.',
    ...(isEstimate(vo2max) ? ['Bygger på en estimert VO2max, ikke en målt.'] : []),
    ...(age.clampedAt === undefined
      ? []
      : [
          `Beregnet alder var ${age.clampedAt === 20 ? 'under 20' : 'over 90'} år og er satt til ${age.clampedAt} år, grensen for metoden.`,
        ]),
  ];
  const observation = makeObservation(ctx, 'fitness-age', FITNESS_TEST_PROFILES.fitnessAge, {
    title: 'Kondisjonsalder (estimat)',
    rows: [
      ['Verdi', value],
      ['Alder ved testen', `${ctx.ageYears} år`],
      [
        'Grunnlag',
        `VO2max ${formatNumberNo(vo2max.value)} mL/kg/min${isEstimate(vo2max) ? ' (estimat)' : ' (målt)'}, ${SEX_SINGULAR[ctx.sex]}`,
      ],
      ['Sammenlignet med jevnaldrende', expectedText(ctx, vo2max.value)],
      ['Metode', FITNESS_AGE_METHOD_NO],
      ['Merknader', notes.join(' ')],
    ],
    code: { coding: [HIT_CODES.fitnessAge], text: 'Kondisjonsalder (estimat)' },
    value: { value: age.roundedYears, unit: UNITS.years, system: SYSTEMS.ucum, code: UNITS.years },
    method: FITNESS_AGE_METHOD_NO,
    notes,
    derivedFrom: [localReference('Observation', vo2maxObs.identifier[0])],
  });
  return { observation, summary: ['Kondisjonsalder', value] };
}

// ---- Strength and walking ----

function oneRepMaxObservation(ctx: TestContext, index: number, exercise: string, kg: number): Member {
  const value = `${formatNumberNo(kg)} kg`;
  const observation = makeObservation(ctx, `one-rep-max-${index}`, FITNESS_TEST_PROFILES.oneRepMax, {
    title: `1RM – ${exercise}`,
    rows: [
      ['Øvelse', exercise],
      ['Verdi', value],
    ],
    // The exercise is named in code.text: the coding says what was measured, the text in which lift.
    code: { coding: [HIT_CODES.oneRepMax], text: `1RM ${exercise}` },
    value: { value: kg, unit: UNITS.kilograms, system: SYSTEMS.ucum, code: UNITS.kilograms },
    notes: [],
  });
  return { observation, summary: [`1RM ${exercise}`, value] };
}

// LOINC 64098-7 is weakly sourced (docs/reference/terminology.md §4: secondary sources only; display
// UNCONFIRMED): check it at loinc.org before relying on it in production.
function sixMinuteWalkObservation(ctx: TestContext, meters: number): Member {
  const value = `${formatNumberNo(meters, 0)} m`;
  const observation = makeObservation(ctx, 'six-minute-walk', FITNESS_TEST_PROFILES.sixMinuteWalk, {
    title: 'Gangdistanse, 6 minutters gangtest',
    rows: [['Verdi', value]],
    code: { coding: [LOINC.sixMinuteWalkDistance], text: 'Gangdistanse, 6 minutters gangtest' },
    value: { value: meters, unit: UNITS.metres, system: SYSTEMS.ucum, code: UNITS.metres },
    notes: [],
  });
  return { observation, summary: ['6 minutters gangtest', value] };
}

// ---- The grouping Observation ----

/** The submaximal stage's conditions: what the test was, whoever worked out the VO2max. */
function submaxComponents(ctx: TestContext): ObservationComponent[] {
  const submax = ctx.input.submax;
  if (submax === undefined) return [];
  const quantity = (value: number, unit: string): ObservationComponent['valueQuantity'] => ({
    value,
    unit,
    system: SYSTEMS.ucum,
    code: unit,
  });
  // Speed and grade have no code in the reference: they are named in text only.
  return [
    {
      code: { coding: [LOINC.exerciseDuration], text: 'Varighet av trinnet' },
      valueQuantity: quantity(submax.durationMinutes, UNITS.minutes),
    },
    { code: { text: 'Hastighet på tredemølla' }, valueQuantity: quantity(submax.speedKmh, UNITS.kilometresPerHour) },
    { code: { text: 'Stigning på tredemølla' }, valueQuantity: quantity(submax.inclinePercent, UNITS.percent) },
    {
      code: { coding: [LOINC.heartRate], text: 'Stabil puls på trinnet' },
      valueQuantity: quantity(submax.steadyStateHr, UNITS.perMinute),
    },
  ];
}

function panelObservation(
  ctx: TestContext,
  results: readonly Member[],
  missing: string | undefined,
): IdentifiedObservation {
  const { input } = ctx;
  const kind = KIND_LABELS[input.kind];
  const submax = input.submax;
  const stage =
    submax === undefined
      ? undefined
      : `${formatNumberNo(submax.durationMinutes)} min, ${formatNumberNo(submax.speedKmh)} km/t, ` +
        `${formatNumberNo(submax.inclinePercent)} % stigning, stabil puls ${formatNumberNo(submax.steadyStateHr)} slag/min`;
  const notes = [...(missing === undefined ? [] : [missing]), ...(input.note === undefined ? [] : [input.note])];
  return makeObservation(ctx, 'panel', FITNESS_TEST_PROFILES.panel, {
    title: `Fysisk test: ${kind}`,
    rows: [
      ...results.map((result) => result.summary),
      ['Submaksimalt trinn', stage],
      ['Mangler', missing],
      ['Merknad', input.note],
    ],
    code: { coding: [HIT_CODES.fitnessTest], text: `Fysisk test: ${kind}` },
    method: capitalise(kind),
    notes,
    hasMember: results.map((result) => localReference('Observation', result.observation.identifier[0])),
    components: submaxComponents(ctx),
  });
}

// ---- One Observation ----

interface ObservationParts {
  readonly title: string;
  readonly rows: readonly TableRow[];
  readonly code: CodeableConcept & { coding: Coding[] };
  readonly value?: Observation['valueQuantity'];
  readonly method?: string;
  readonly notes: readonly string[];
  readonly derivedFrom?: Reference[];
  readonly hasMember?: Reference[];
  readonly components?: ObservationComponent[];
}

function makeObservation(
  ctx: TestContext,
  role: string,
  profile: string,
  parts: ObservationParts,
): IdentifiedObservation {
  const { input } = ctx;
  const notes: Annotation[] = parts.notes.map((text) => ({ text }));
  return {
    resourceType: 'Observation',
    meta: { profile: [profile] },
    text: narrativeTable(parts.title, [['Tidspunkt', ctx.when], ...parts.rows]),
    identifier: [businessIdentifier(input.source, 'fitness-test', input.testId, role)],
    status: 'final',
    // A supervised test, done and read by a health professional: an examination finding.
    category: [{ coding: [CATEGORY.exam] }],
    code: parts.code,
    subject: ctx.subject,
    effectiveDateTime: input.performedAt,
    performer: [ctx.performer],
    ...(parts.value === undefined ? {} : { valueQuantity: parts.value }),
    ...(notes.length === 0 ? {} : { note: notes }),
    ...(parts.method === undefined ? {} : { method: { text: parts.method } }),
    ...(parts.hasMember === undefined || parts.hasMember.length === 0 ? {} : { hasMember: parts.hasMember }),
    ...(parts.derivedFrom === undefined ? {} : { derivedFrom: parts.derivedFrom }),
    ...(parts.components === undefined || parts.components.length === 0 ? {} : { component: parts.components }),
  } satisfies IdentifiedObservation;
}

/** A reference to another resource in the same Bundle (its urn:uuid fullUrl), with its identifier. */
function localReference(resourceType: string, identifier: Identifier): Reference {
  return { reference: fullUrlFor(identifier), type: resourceType, identifier };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
