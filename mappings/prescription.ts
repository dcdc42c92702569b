/**
 * An exercise prescription → a FHIR R4 transaction Bundle, following the HL7 Physical Activity
 * IG's pattern (docs/reference/terminology.md §7): the prescription is a ServiceRequest (static, only the
 * hospital changes it), the plan a municipality will later work from is a CarePlan with one
 * activity per component, and each goal is a Goal.
 *
 * - ServiceRequest (hit-exercise-prescription): OBAB00 + SNOMED 229065009 Exercise therapy; the
 *   whole programme as one Timing ("3 × per week for 8 weeks": frequency/period/periodUnit within
 *   boundsPeriod). Its business identifier carries no role, so a session can name it in basedOn.
 * - CarePlan (hit-training-careplan): the same period, one activity per component with its own
 *   Timing and a plain-Norwegian description with heart-rate numbers in bpm; it points to the
 *   ServiceRequest through supportingInfo, because R4 CarePlan.basedOn may only point to a CarePlan.
 * - Goal (hit-training-goal): one per goal, target due on the last day of the prescription.
 *
 * HRmax for the zones: the clinic's value when sent (measured always wins), else estimated from
 * the age on the start date (docs/reference/fitness.md §1). Each component's dose (HRmax, zones,
 * sets, repetitions, % of 1RM, exercises) is written twice on the ServiceRequest's orderDetail:
 * as structure (mappings/prescription-dose.ts), which the handover reads, and as a Norwegian
 * sentence for people. Pure: the same input always gives the same Bundle.
 */
import type {
  Bundle,
  BundleEntry,
  CarePlan,
  CarePlanActivity,
  CodeableConcept,
  Coding,
  Goal,
  Identifier,
  Period,
  Quantity,
  Reference,
  ServiceRequest,
  Timing,
} from 'fhir/r4.js';
import {
  FOUR_BY_FOUR,
  planFourByFourSession,
  type FourByFourPlan,
  type PlanSegment,
} from '../src/domain/four-by-four.ts';
import { estimateHrMax, resolveHrMax } from '../src/domain/heart-rate.ts';
import {
  businessIdentifier,
  createOnce,
  escapeXml,
  formatDateNo,
  formatDateTimeNo,
  formatNumberNo,
  narrative,
  patientOn,
  patientReference,
  practitionerReference,
  transactionBundle,
  type MappingOptions,
} from './common.ts';
import type {
  GoalInput,
  IntervalComponentInput,
  PrescriptionComponentInput,
  PrescriptionInput,
  StrengthComponentInput,
} from './inputs.ts';
import {
  hrMaxBasisNo,
  intervalDoseExtension,
  MODALITY_NO,
  strengthDoseExtension,
  type HrMaxMethod,
} from './prescription-dose.ts';
import { HIT_CODES, LOINC, OBAB00, profileUrl, SNOMED, SYSTEMS, UNITS } from './terminology.ts';

/** What createOnce needs: a resource with its business identifier (exactOptionalPropertyTypes). */
type Identified<T> = T & { identifier: Identifier[] };

export const PRESCRIPTION_PROFILES = {
  serviceRequest: profileUrl('hit-exercise-prescription'),
  carePlan: profileUrl('hit-training-careplan'),
  goal: profileUrl('hit-training-goal'),
} as const;

export function mapPrescription(input: PrescriptionInput, options: MappingOptions): Bundle {
  if (input.components.length === 0) {
    // The input schema requires at least one component; reaching here is a bug, not bad input.
    throw new Error('mapping received a prescription without components');
  }
  const ids = {
    prescription: businessIdentifier(input.source, 'prescription', input.prescriptionId),
    carePlan: businessIdentifier(input.source, 'prescription', input.prescriptionId, 'careplan'),
    goal: (n: number) => businessIdentifier(input.source, 'prescription', input.prescriptionId, `goal-${n}`),
  };
  const period = prescriptionPeriod(input.start, input.weeks);
  const hrMax = input.components.some((c) => c.kind === 'interval') ? planHrMax(input) : undefined;
  const subject = patientReference(input.patient.nationalId);
  const prescriber = practitionerReference(input.prescriber.hprNumber);
  const codes = procedureCodings(options);

  const goals = (input.goals ?? []).map((goal, index) => {
    const entry = createOnce(goalResource(goal, index + 1, ids.goal(index + 1), input, period, subject, prescriber));
    return { input: goal, entry };
  });
  const goalRef = (entry: BundleEntry): Reference => ({ reference: entry.fullUrl ?? '', type: 'Goal' });

  const components = input.components.map((component) => ({
    component,
    text: componentText(component, hrMax, period),
    goals: goals.filter((g) => goalConcerns(g.input, component)).map((g) => goalRef(g.entry)),
  }));

  const serviceRequest = createOnce<Identified<ServiceRequest>>({
    resourceType: 'ServiceRequest',
    meta: { profile: [PRESCRIPTION_PROFILES.serviceRequest] },
    text: serviceRequestNarrative(input, period, hrMax, components, goals),
    identifier: [ids.prescription],
    status: 'active',
    intent: 'order',
    code: { coding: [...codes, SNOMED.exerciseTherapy], text: 'Fysisk trening etter treningsresept' },
    orderDetail: components.map((c) => orderDetail(c.component, hrMax, c.text)),
    subject,
    occurrenceTiming: {
      repeat: {
        boundsPeriod: period,
        frequency: sessionsPerWeek(input.components),
        period: 1,
        periodUnit: 'wk',
      },
      code: { text: `${frequencyText(components)} i ${weeksText(input.weeks)}` },
    },
    authoredOn: input.issuedAt,
    requester: prescriber,
    patientInstruction: patientInstruction(components),
    ...(input.note === undefined ? {} : { note: [{ text: input.note }] }),
  });

  const carePlan = createOnce<Identified<CarePlan>>({
    resourceType: 'CarePlan',
    meta: { profile: [PRESCRIPTION_PROFILES.carePlan] },
    text: carePlanNarrative(input, period, hrMax, components, goals),
    identifier: [ids.carePlan],
    status: 'active',
    intent: 'plan',
    title: `Treningsplan: ${components.map((c, i) => (i === 0 ? c.text.title : c.text.title.toLowerCase())).join(' og ')}, ${weeksText(input.weeks)}`,
    description: `Treningsplan etter treningsresept ${input.prescriptionId}, ${formatPeriodNo(period)}.`,
    subject,
    period,
    created: input.issuedAt,
    author: prescriber,
    // R4 CarePlan.basedOn may only point to a CarePlan; supportingInfo takes any resource.
    supportingInfo: [{ reference: serviceRequest.fullUrl ?? '', type: 'ServiceRequest' }],
    ...(goals.length === 0 ? {} : { goal: goals.map((g) => goalRef(g.entry)) }),
    activity: components.map((c): CarePlanActivity => ({
      detail: {
        kind: 'ServiceRequest',
        code: { coding: [SNOMED.exerciseTherapy, ...codes], text: c.text.title },
        ...(c.goals.length === 0 ? {} : { goal: c.goals }),
        status: 'scheduled',
        scheduledTiming: componentTiming(c.component, period, hrMax),
        description: [c.text.summary, ...c.text.steps].join('\n'),
      },
    })),
  });

  return transactionBundle(ids.prescription, [serviceRequest, carePlan, ...goals.map((g) => g.entry)]);
}

// ---- Coding ----

function procedureCodings(options: MappingOptions): Coding[] {
  const codes: Coding[] = [{ ...OBAB00 }];
  // UNCONFIRMED: DIPS is reported to code NCMP with 7220 (docs/reference/terminology.md §1.2); only when configured.
  if (options.ncmpDipsCoding) codes.push({ ...OBAB00, system: SYSTEMS.ncmpDips });
  return codes;
}

// ---- Time ----

/**
 * From the start date through the last day of the last week. Period.end is inclusive, and at date
 * precision it covers the whole day, so 8 weeks from Monday 5 January end on Sunday 1 March.
 */
function prescriptionPeriod(start: string, weeks: number): Period & { start: string; end: string } {
  return { start, end: addDays(start, weeks * 7 - 1) };
}

/** Calendar arithmetic on a YYYY-MM-DD date in UTC: no time zone, no clock. */
function addDays(isoDate: string, days: number): string {
  const [year = 0, month = 1, day = 1] = isoDate.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/**
 * Training days per week for the prescription as a whole: the largest of the components'. A
 * session can carry intervals and strength sets together (the session input has both), so the
 * components' counts are not added up; each CarePlan activity carries its own.
 */
function sessionsPerWeek(components: readonly PrescriptionComponentInput[]): number {
  return Math.max(...components.map((c) => c.sessionsPerWeek));
}

function componentTiming(component: PrescriptionComponentInput, period: Period, hrMax: PlanHrMax | undefined): Timing {
  const plan = component.kind === 'interval' ? hrMax?.session : undefined;
  return {
    repeat: {
      boundsPeriod: period,
      frequency: component.sessionsPerWeek,
      period: 1,
      periodUnit: 'wk',
      ...(plan === undefined ? {} : { duration: plan.totalMin, durationUnit: 'min' as const }),
    },
  };
}

/** "3 økter per uke", and with several components what each has: "3 økter per uke (…: 3, …: 2)". */
function frequencyText(components: readonly MappedComponent[]): string {
  const total = `${sessionsPerWeek(components.map((c) => c.component))} økter per uke`;
  if (components.length === 1) return total;
  return `${total} (${components.map((c) => `${c.text.title.toLowerCase()}: ${c.component.sessionsPerWeek}`).join(', ')})`;
}

function weeksText(weeks: number): string {
  return weeks === 1 ? '1 uke' : `${weeks} uker`;
}

function formatPeriodNo(period: { start: string; end: string }): string {
  return `${formatDateNo(period.start)}–${formatDateNo(period.end)}`;
}

function fromToNo(period: { start: string; end: string }): string {
  return `fra ${formatDateNo(period.start)} til ${formatDateNo(period.end)}`;
}

// ---- HRmax ----

interface PlanHrMax {
  readonly bpm: number;
  /** The 4x4 session at this HRmax, with its zones: planned once for every interval component and its text. */
  readonly session: FourByFourPlan;
  readonly method: HrMaxMethod;
  /** The age on the start date, when the HRmax is estimated from it. */
  readonly estimatedAtAge?: number;
  /** Norwegian: where the number comes from, for the reader. */
  readonly basis: string;
}

/**
 * The clinic's HRmax when sent (a measured one always wins; an estimate the clinic made is taken
 * as sent), else 211 − 0.64 × age on the start date, the age from the national id's birth date.
 */
function planHrMax(input: PrescriptionInput): PlanHrMax {
  if (input.hrMax !== undefined) {
    const resolved = resolveHrMax({ measuredBpm: input.hrMax.bpm });
    if (!resolved.ok) throw new Error(`mapping received an invalid HRmax: ${resolved.reason}`);
    const bpm = resolved.value.bpm;
    const method = input.hrMax.method === 'measured' ? 'measured' : 'clinic-estimate';
    return { bpm, session: sessionPlan(bpm), method, basis: hrMaxBasisNo(method) };
  }
  const { age } = patientOn(input.patient.nationalId, input.start);
  const estimate = estimateHrMax(age);
  if (!estimate.ok) throw new Error(`mapping cannot estimate HRmax: ${estimate.reason}`);
  const bpm = estimate.value.bpm;
  return {
    bpm,
    session: sessionPlan(bpm),
    method: 'hunt-estimate',
    estimatedAtAge: age,
    basis: hrMaxBasisNo('hunt-estimate', age),
  };
}

function sessionPlan(bpm: number): FourByFourPlan {
  const plan = planFourByFourSession(bpm);
  if (!plan.ok) throw new Error(`mapping cannot plan the 4x4 session: ${plan.reason}`);
  return plan.value;
}

// ---- Component text (plain Norwegian, also what a municipality reads) ----

interface ComponentText {
  readonly title: string;
  /** One sentence: what, where, how often, for how long. */
  readonly summary: string;
  /** The session step by step. */
  readonly steps: readonly string[];
}

function componentText(
  component: PrescriptionComponentInput,
  hrMax: PlanHrMax | undefined,
  period: { start: string; end: string },
): ComponentText {
  return component.kind === 'interval' ? intervalText(component, hrMax, period) : strengthText(component, period);
}

function intervalText(
  component: IntervalComponentInput,
  hrMax: PlanHrMax | undefined,
  period: { start: string; end: string },
): ComponentText {
  if (hrMax === undefined) throw new Error('an interval component needs an HRmax');
  const plan = hrMax.session;
  const { zones } = plan;
  const summary =
    `4x4-intervalltrening ${MODALITY_NO[component.modality]}, ${component.sessionsPerWeek} økter per uke ` +
    `${fromToNo(period)}. Makspuls ${hrMax.bpm} slag/min (${hrMax.basis}). ` +
    `Dragene går på ${zones.interval.lowBpm}–${zones.interval.highBpm} slag/min ` +
    `(${zones.interval.lowPercent}–${zones.interval.highPercent} % av makspuls), ` +
    `pausene på ca. ${zones.activePause.bpm} slag/min (${zones.activePause.percent} %). ` +
    `Hver økt tar ca. ${plan.totalMin} minutter.`;
  const steps = plan.segments.map(segmentText);
  const incline = inclineText(component);
  return { title: '4x4-intervalltrening', summary, steps: incline === undefined ? steps : [...steps, incline] };
}

function segmentText(segment: PlanSegment): string {
  const first = segment.startsAtMin + 1;
  const last = segment.startsAtMin + segment.durationMin;
  const minutes = first === last ? `Minutt ${first}` : `Minutt ${first}–${last}`;
  const target = segment.target;
  switch (segment.phase) {
    case 'warm-up':
      return `${minutes}: oppvarming, ${segment.durationMin} min.`;
    case 'interval': {
      const n = segment.intervalNumber ?? 1;
      const zone = target.kind === 'zone' ? `${target.lowBpm}–${target.highBpm} slag/min` : '';
      const reach =
        n === 1 ? FOUR_BY_FOUR.reachZoneWithinMin.firstInterval : FOUR_BY_FOUR.reachZoneWithinMin.laterIntervals;
      return (
        `${minutes}: drag ${n} av ${FOUR_BY_FOUR.intervals}, ${segment.durationMin} min med puls ${zone}. ` +
        `Nå pulssonen i løpet av ${reach === 1 ? 'ca. 1 minutt' : `1–${reach} minutter`}; ` +
        `les av pulsen i ${FOUR_BY_FOUR.readHeartRateInIntervalMinute}. minutt.`
      );
    }
    case 'active-pause': {
      const bpm = target.kind === 'about' ? `ca. ${target.bpm} slag/min` : '';
      return `${minutes}: aktiv pause, ${segment.durationMin} min i lettere tempo (fortsett å bevege deg) med puls ${bpm}.`;
    }
    case 'cool-down':
      return `${minutes}: nedtrapping, ${segment.durationMin} min.`;
  }
}

function inclineText(component: IntervalComponentInput): string | undefined {
  if (component.inclinePercentMin !== undefined) {
    return `Stigning: minst ${formatNumberNo(component.inclinePercentMin)} % i dragene.`;
  }
  if (component.modality === 'treadmill') {
    return `Stigning: minst ${FOUR_BY_FOUR.treadmillMinInclinePercent} % i dragene (gå eller løp i motbakke).`;
  }
  return undefined;
}

/** The incline the intervals must have at least: the clinic's, or on a treadmill the protocol's 5 %. */
function minimumIncline(component: IntervalComponentInput): number | undefined {
  if (component.inclinePercentMin !== undefined) return component.inclinePercentMin;
  return component.modality === 'treadmill' ? FOUR_BY_FOUR.treadmillMinInclinePercent : undefined;
}

/** One component on the ServiceRequest: its dose as structure, and the same in one Norwegian sentence. */
function orderDetail(
  component: PrescriptionComponentInput,
  hrMax: PlanHrMax | undefined,
  text: ComponentText,
): CodeableConcept {
  if (component.kind === 'strength') {
    const [low, high] = component.intensityPercent1RM;
    const dose = strengthDoseExtension({
      sessionsPerWeek: component.sessionsPerWeek,
      sets: component.sets,
      reps: component.reps,
      percent1RM: { low, high },
      exercises: component.exercises,
    });
    return { extension: [dose], text: text.summary };
  }
  if (hrMax === undefined) throw new Error('an interval component needs an HRmax');
  const incline = minimumIncline(component);
  const dose = intervalDoseExtension({
    sessionsPerWeek: component.sessionsPerWeek,
    modality: component.modality,
    hrMax: {
      bpm: hrMax.bpm,
      method: hrMax.method,
      ...(hrMax.estimatedAtAge === undefined ? {} : { estimatedAtAge: hrMax.estimatedAtAge }),
    },
    intervalZone: hrMax.session.zones.interval,
    activePause: hrMax.session.zones.activePause,
    ...(incline === undefined ? {} : { inclinePercentMin: incline }),
  });
  return { extension: [dose], text: text.summary };
}

function strengthText(component: StrengthComponentInput, period: { start: string; end: string }): ComponentText {
  const [low, high] = component.intensityPercent1RM;
  const load = low === high ? `${formatNumberNo(low)} %` : `${formatNumberNo(low)}–${formatNumberNo(high)} %`;
  const summary =
    `Styrketrening, ${component.sessionsPerWeek} økter per uke ${fromToNo(period)}: ` +
    `${component.sets} serier × ${component.reps} repetisjoner med ${load} av 1RM ` +
    `(1RM = den tyngste vekten som kan løftes én gang med god teknikk).`;
  const steps = component.exercises.length === 0 ? [] : [`Øvelser: ${component.exercises.join(', ')}.`];
  return { title: 'Styrketrening', summary, steps };
}

// ---- Goals ----

const GOAL_MEASURES: Readonly<
  Record<
    GoalInput['measure'],
    {
      readonly coding: Coding;
      /** UCUM code. */
      readonly ucum: string;
      /** The unit as a Norwegian reader says it (Quantity.unit). */
      readonly unit: string;
      readonly label: string;
    }
  >
> = {
  // LOINC 94122-9, VO2 peak per kg (secondary sources, strongly agreeing; docs/reference/terminology.md §4).
  vo2max: {
    coding: LOINC.vo2maxPerKg,
    ucum: UNITS.mlPerKgPerMinute,
    unit: UNITS.mlPerKgPerMinute,
    label: 'maksimalt oksygenopptak (VO₂maks)',
  },
  // No LOINC code for 1RM was found (docs/reference/terminology.md §4): our own code.
  'one-rep-max': {
    coding: HIT_CODES.oneRepMax,
    ucum: UNITS.kilograms,
    unit: UNITS.kilograms,
    label: '1RM (én repetisjon maksimum)',
  },
  // Sessions carried out per week: no standard code (the Exercise Vital Sign's "days per week"
  // is self-reported activity of any kind, not attendance at prescribed training): our own code.
  attendance: {
    coding: HIT_CODES.trainingSessionsPerWeek,
    ucum: UNITS.perWeek,
    unit: 'økter per uke',
    label: 'gjennomførte treningsøkter per uke',
  },
};

/** Which activities a goal belongs to: VO2max to intervals, 1RM to strength, attendance to all. */
function goalConcerns(goal: GoalInput, component: PrescriptionComponentInput): boolean {
  if (goal.measure === 'vo2max') return component.kind === 'interval';
  if (goal.measure === 'one-rep-max') return component.kind === 'strength';
  return true;
}

function goalTargetText(goal: GoalInput): string {
  return `minst ${formatNumberNo(goal.target)} ${GOAL_MEASURES[goal.measure].unit}`;
}

function goalResource(
  goal: GoalInput,
  n: number,
  identifier: Identifier,
  input: PrescriptionInput,
  period: { start: string; end: string },
  subject: Reference,
  prescriber: Reference,
): Identified<Goal> {
  const measure = GOAL_MEASURES[goal.measure];
  const quantity: Quantity = {
    value: goal.target,
    comparator: '>=',
    unit: measure.unit,
    system: SYSTEMS.ucum,
    code: measure.ucum,
  };
  const rows: [string, string][] = [
    ['Mål', goal.description],
    ['Måles som', measure.label],
    ['Målverdi', goalTargetText(goal)],
    ['Fra', formatDateNo(period.start)],
    ['Frist', formatDateNo(period.end)],
    ['Del av', `treningsresept ${input.prescriptionId}`],
  ];
  return {
    resourceType: 'Goal',
    meta: { profile: [PRESCRIPTION_PROFILES.goal] },
    text: narrative(`<p><b>Treningsmål ${n}</b></p>${table(rows)}`),
    identifier: [identifier],
    lifecycleStatus: 'active',
    description: { text: goal.description },
    subject,
    startDate: period.start,
    target: [
      { measure: { coding: [measure.coding], text: measure.label }, detailQuantity: quantity, dueDate: period.end },
    ],
    expressedBy: prescriber,
  };
}

// ---- Narrative ----

interface MappedComponent {
  readonly component: PrescriptionComponentInput;
  readonly text: ComponentText;
}

interface MappedGoal {
  readonly input: GoalInput;
}

/** Rows of label → value; every value is escaped here. */
function table(rows: readonly (readonly [string, string])[]): string {
  const body = rows.map(([label, value]) => `<tr><th>${escapeXml(label)}</th><td>${escapeXml(value)}</td></tr>`);
  return `<table>${body.join('')}</table>`;
}

function list(items: readonly string[]): string {
  return `<ul>${items.map((item) => `<li>${escapeXml(item)}</li>`).join('')}</ul>`;
}

function componentsXhtml(components: readonly MappedComponent[]): string {
  return components
    .map(
      (c) =>
        `<p><b>${escapeXml(c.text.title)}</b></p><p>${escapeXml(c.text.summary)}</p>${c.text.steps.length === 0 ? '' : list(c.text.steps)}`,
    )
    .join('');
}

function goalsXhtml(goals: readonly MappedGoal[], period: { start: string; end: string }): string {
  if (goals.length === 0) return '';
  const due = formatDateNo(period.end);
  return `<p><b>Mål</b></p>${list(goals.map((g) => `${g.input.description} (målverdi ${goalTargetText(g.input)} innen ${due})`))}`;
}

function hrMaxRows(hrMax: PlanHrMax | undefined): [string, string][] {
  if (hrMax === undefined) return [];
  const { zones } = hrMax.session;
  return [
    ['Makspuls', `${hrMax.bpm} slag/min (${hrMax.basis})`],
    [
      'Pulssone i dragene',
      `${zones.interval.lowBpm}–${zones.interval.highBpm} slag/min (${zones.interval.lowPercent}–${zones.interval.highPercent} % av makspuls)`,
    ],
    ['Puls i aktive pauser', `ca. ${zones.activePause.bpm} slag/min (${zones.activePause.percent} % av makspuls)`],
  ];
}

function serviceRequestNarrative(
  input: PrescriptionInput,
  period: { start: string; end: string },
  hrMax: PlanHrMax | undefined,
  components: readonly MappedComponent[],
  goals: readonly MappedGoal[],
): ReturnType<typeof narrative> {
  const rows: [string, string][] = [
    ['Tiltak', `${OBAB00.display} (${OBAB00.code})`],
    ['Resept', input.prescriptionId],
    ['Utstedt', formatDateTimeNo(input.issuedAt)],
    ['Forskrevet av', `HPR-nr. ${input.prescriber.hprNumber}`],
    ['Periode', `${formatPeriodNo(period)} (${weeksText(input.weeks)})`],
    ['Hyppighet', frequencyText(components)],
    ...hrMaxRows(hrMax),
    ...(input.note === undefined ? [] : [['Merknad', input.note] as [string, string]]),
  ];
  return narrative(
    `<p><b>Treningsresept</b></p>${table(rows)}${componentsXhtml(components)}${goalsXhtml(goals, period)}`,
  );
}

function carePlanNarrative(
  input: PrescriptionInput,
  period: { start: string; end: string },
  hrMax: PlanHrMax | undefined,
  components: readonly MappedComponent[],
  goals: readonly MappedGoal[],
): ReturnType<typeof narrative> {
  const rows: [string, string][] = [
    ['Periode', `${formatPeriodNo(period)} (${weeksText(input.weeks)})`],
    ['Grunnlag', `Treningsresept ${input.prescriptionId}, utstedt ${formatDateTimeNo(input.issuedAt)}`],
    ['Forskrevet av', `HPR-nr. ${input.prescriber.hprNumber}`],
    ...hrMaxRows(hrMax),
  ];
  return narrative(
    `<p><b>Treningsplan</b></p>${table(rows)}${componentsXhtml(components)}${goalsXhtml(goals, period)}`,
  );
}

/** The same plan as plain text for the patient: ServiceRequest.patientInstruction. */
function patientInstruction(components: readonly MappedComponent[]): string {
  return components.flatMap((c) => [c.text.summary, ...c.text.steps]).join('\n');
}
