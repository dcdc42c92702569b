import { readFileSync } from 'node:fs';
import type { Bundle, CarePlan, FhirResource, Goal, ServiceRequest } from 'fhir/r4.js';
import { businessIdentifier, DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import type { IntervalComponentInput, PrescriptionInput } from '../../../mappings/inputs.ts';
import { mapPrescription, PRESCRIPTION_PROFILES } from '../../../mappings/prescription.ts';
import { IDENTIFIER_SYSTEMS, SYSTEMS } from '../../../mappings/terminology.ts';

// Synthetic ids only (month + 80): born 15 March 1988, and a synthetic D-nummer born 7 November 1995.
const BORN_1988_03_15 = '15838812381';
const D_NUMBER_BORN_1995_11_07 = '47919512306';

const typical = JSON.parse(
  readFileSync('test/fixtures/mappings/prescriptions/typical-4x4-strength.input.json', 'utf8'),
) as PrescriptionInput;

function input(changes: Partial<PrescriptionInput> = {}): PrescriptionInput {
  return { ...typical, ...changes };
}

function map(prescription: PrescriptionInput, ncmpDipsCoding = false): Bundle {
  return mapPrescription(prescription, { ...DEFAULT_MAPPING_OPTIONS, ncmpDipsCoding });
}

function resources<T extends FhirResource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
}

function only<T extends FhirResource>(bundle: Bundle, type: T['resourceType']): T {
  const found = resources<T>(bundle, type);
  expect(found).toHaveLength(1);
  return found[0] as T;
}

function fullUrlOf(bundle: Bundle, resource: FhirResource): string | undefined {
  return bundle.entry?.find((e) => e.resource === resource)?.fullUrl;
}

const interval: IntervalComponentInput = {
  kind: 'interval',
  protocol: '4x4',
  sessionsPerWeek: 3,
  modality: 'treadmill',
};
const intervalOnly: PrescriptionInput['components'] = [interval];

describe('heart-rate zones in the plan', () => {
  it('estimates HRmax from the age on the start date when none is sent: 37 years → 187 bpm', () => {
    // 211 − 0.64 × 37 = 187.32 → 187; 85 % = 158.95 → 159, 95 % = 177.65 → 177, 70 % = 130.9 → 131.
    const bundle = map(input({ start: '2026-01-05' }));
    const interval = only<CarePlan>(bundle, 'CarePlan').activity?.[0]?.detail?.description ?? '';
    expect(interval).toContain('Makspuls 187 slag/min (estimert: 211 − 0,64 × alder, 37 år ved oppstart');
    expect(interval).toContain('159–177 slag/min (85–95 % av makspuls)');
    expect(interval).toContain('ca. 131 slag/min (70 %)');
    expect(interval).toContain('Minutt 11–14: drag 1 av 4, 4 min med puls 159–177 slag/min');
    expect(interval).toContain('Minutt 15–17: aktiv pause, 3 min');
    expect(interval).toContain('Minutt 32–35: drag 4 av 4');
    expect(interval).toContain('Minutt 36–40: nedtrapping, 5 min');
    const narrative = only<ServiceRequest>(bundle, 'ServiceRequest').text?.div ?? '';
    expect(narrative).toContain('<th>Makspuls</th><td>187 slag/min (estimert');
    expect(narrative).toContain('<th>Pulssone i dragene</th><td>159–177 slag/min');
  });

  it('takes the age on the start date, not the issue date: a birthday in between changes the zones', () => {
    // Born 15 March 1988: 36 years on 14 March 2025 (211 − 23.04 = 187.96 → 188), 37 on 15 March.
    const before = map(input({ issuedAt: '2025-03-01T09:00:00+01:00', start: '2025-03-14', components: intervalOnly }));
    const after = map(input({ issuedAt: '2025-03-01T09:00:00+01:00', start: '2025-03-15', components: intervalOnly }));
    const text = (b: Bundle) => only<CarePlan>(b, 'CarePlan').activity?.[0]?.detail?.description ?? '';
    expect(text(before)).toContain('Makspuls 188 slag/min (estimert: 211 − 0,64 × alder, 36 år ved oppstart');
    expect(text(before)).toContain('160–178 slag/min');
    expect(text(after)).toContain('Makspuls 187 slag/min (estimert: 211 − 0,64 × alder, 37 år ved oppstart');
  });

  it('uses a measured HRmax over the estimate: 176 bpm → 150–167, pauses about 123', () => {
    // 85 % of 176 = 149.6 → 150, 95 % = 167.2 → 167, 70 % = 123.2 → 123.
    const bundle = map(input({ hrMax: { bpm: 176, method: 'measured' }, components: intervalOnly }));
    const text = only<CarePlan>(bundle, 'CarePlan').activity?.[0]?.detail?.description ?? '';
    expect(text).toContain('Makspuls 176 slag/min (målt)');
    expect(text).toContain('150–167 slag/min (85–95 % av makspuls)');
    expect(text).toContain('ca. 123 slag/min (70 %)');
    expect(text).not.toContain('211 − 0,64');
  });

  it('says when the HRmax is an estimate the clinic sent, and uses it as sent', () => {
    // 85 % of 185 = 157.25 → 158, 95 % = 175.75 → 175, 70 % = 129.5 → 130.
    const bundle = map(input({ hrMax: { bpm: 185, method: 'estimated' }, components: intervalOnly }));
    const text = only<CarePlan>(bundle, 'CarePlan').activity?.[0]?.detail?.description ?? '';
    expect(text).toContain('Makspuls 185 slag/min (estimert av klinikken)');
    expect(text).toContain('158–175 slag/min');
    expect(text).toContain('ca. 130 slag/min');
  });

  it('gives the minimum treadmill incline from the input, else the protocol minimum of 5 %', () => {
    const given = map(input({ components: [{ ...interval, inclinePercentMin: 8 }] }));
    const absent = map(input({ components: intervalOnly }));
    const cycle = map(input({ components: [{ ...interval, modality: 'cycle' }] }));
    const text = (b: Bundle) => only<CarePlan>(b, 'CarePlan').activity?.[0]?.detail?.description ?? '';
    expect(text(given)).toContain('Stigning: minst 8 % i dragene.');
    expect(text(absent)).toContain('Stigning: minst 5 % i dragene');
    expect(text(cycle)).toContain('4x4-intervalltrening på ergometersykkel');
    expect(text(cycle)).not.toContain('Stigning');
  });
});

describe('timing', () => {
  it('prescribes 3 sessions a week for 8 weeks as one Timing bounded by the period', () => {
    const sr = only<ServiceRequest>(map(input({ components: intervalOnly })), 'ServiceRequest');
    expect(sr.occurrenceTiming?.repeat).toEqual({
      boundsPeriod: { start: '2026-01-05', end: '2026-03-01' },
      frequency: 3,
      period: 1,
      periodUnit: 'wk',
    });
    expect(sr.occurrenceTiming?.code?.text).toBe('3 økter per uke i 8 uker');
  });

  it('gives each activity its own sessions per week; the prescription the largest, naming each', () => {
    const bundle = map(typical); // intervals 3 a week, strength 2 a week
    const sr = only<ServiceRequest>(bundle, 'ServiceRequest');
    expect(sr.occurrenceTiming?.repeat?.frequency).toBe(3);
    expect(sr.occurrenceTiming?.code?.text).toBe(
      '3 økter per uke (4x4-intervalltrening: 3, styrketrening: 2) i 8 uker',
    );
    const timings = only<CarePlan>(bundle, 'CarePlan').activity?.map((a) => a.detail?.scheduledTiming?.repeat);
    expect(timings?.map((t) => [t?.frequency, t?.period, t?.periodUnit])).toEqual([
      [3, 1, 'wk'],
      [2, 1, 'wk'],
    ]);
    // A 4x4 session lasts 10 + 4 × 4 + 3 × 3 + 5 = 40 minutes; strength has no stated length.
    expect(timings?.map((t) => [t?.duration, t?.durationUnit])).toEqual([
      [40, 'min'],
      [undefined, undefined],
    ]);
  });

  it.each([
    ['8 weeks', '2026-01-05', 8, '2026-03-01'],
    ['1 week', '2026-03-30', 1, '2026-04-05'],
    ['over a leap day', '2028-02-26', 1, '2028-03-03'],
    ['over new year', '2026-12-28', 2, '2027-01-10'],
  ])('ends the care plan, the Timing and the goals on the last day (%s)', (_label, start, weeks, end) => {
    const bundle = map(input({ start, weeks }));
    const carePlan = only<CarePlan>(bundle, 'CarePlan');
    expect(carePlan.period).toEqual({ start, end });
    expect(only<ServiceRequest>(bundle, 'ServiceRequest').occurrenceTiming?.repeat?.boundsPeriod).toEqual({
      start,
      end,
    });
    for (const activity of carePlan.activity ?? []) {
      expect(activity.detail?.scheduledTiming?.repeat?.boundsPeriod).toEqual({ start, end });
    }
    for (const goal of resources<Goal>(bundle, 'Goal')) {
      expect(goal.startDate).toBe(start);
      expect(goal.target?.[0]?.dueDate).toBe(end);
    }
  });
});

describe('resources and links', () => {
  it('identifies the ServiceRequest exactly as sessions reference it (no role), the others with a role', () => {
    const bundle = map(typical);
    const sr = only<ServiceRequest>(bundle, 'ServiceRequest');
    expect(sr.identifier).toEqual([businessIdentifier('stolav-hit-app', 'prescription', 'RX-2026-0001')]);
    expect(sr.identifier?.[0]?.value).toBe('prescription/RX-2026-0001');
    expect(only<CarePlan>(bundle, 'CarePlan').identifier?.[0]?.value).toBe('prescription/RX-2026-0001/careplan');
    expect(resources<Goal>(bundle, 'Goal').map((g) => g.identifier?.[0]?.value)).toEqual([
      'prescription/RX-2026-0001/goal-1',
      'prescription/RX-2026-0001/goal-2',
      'prescription/RX-2026-0001/goal-3',
    ]);
  });

  it('creates every resource only if none with its identifier exists, and names its profile', () => {
    const bundle = map(typical);
    expect(bundle.type).toBe('transaction');
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource as FhirResource & { identifier?: { system?: string; value?: string }[] };
      const id = resource.identifier?.[0];
      expect(entry.request).toEqual({
        method: 'POST',
        url: resource.resourceType,
        ifNoneExist: `identifier=${id?.system ?? ''}|${id?.value ?? ''}`,
      });
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    }
    expect(only<ServiceRequest>(bundle, 'ServiceRequest').meta?.profile).toEqual([
      PRESCRIPTION_PROFILES.serviceRequest,
    ]);
    expect(only<CarePlan>(bundle, 'CarePlan').meta?.profile).toEqual([PRESCRIPTION_PROFILES.carePlan]);
    for (const goal of resources<Goal>(bundle, 'Goal'))
      expect(goal.meta?.profile).toEqual([PRESCRIPTION_PROFILES.goal]);
  });

  it('creates no Patient or Practitioner: both are conditional references by identifier', () => {
    const bundle = map(input({ patient: { nationalId: D_NUMBER_BORN_1995_11_07 } }));
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'ServiceRequest',
      'CarePlan',
      'Goal',
      'Goal',
      'Goal',
    ]);
    const sr = only<ServiceRequest>(bundle, 'ServiceRequest');
    expect(sr.subject.reference).toBe(`Patient?identifier=${IDENTIFIER_SYSTEMS.dNumber}|${D_NUMBER_BORN_1995_11_07}`);
    expect(sr.requester?.reference).toBe(`Practitioner?identifier=${IDENTIFIER_SYSTEMS.hpr}|9144889`);
    for (const goal of resources<Goal>(bundle, 'Goal')) expect(goal.subject).toEqual(sr.subject);
    expect(only<CarePlan>(bundle, 'CarePlan').subject).toEqual(sr.subject);
  });

  it('makes one care-plan activity per component, in order, with the strength dose in words', () => {
    const carePlan = only<CarePlan>(map(typical), 'CarePlan');
    expect(carePlan.activity).toHaveLength(2);
    expect(carePlan.activity?.map((a) => a.detail?.code?.text)).toEqual(['4x4-intervalltrening', 'Styrketrening']);
    const strength = carePlan.activity?.[1]?.detail?.description ?? '';
    expect(strength).toContain('4 serier × 4 repetisjoner med 85–90 % av 1RM');
    expect(strength).toContain('Øvelser: beinpress, knebøy.');
    for (const activity of carePlan.activity ?? []) {
      expect(activity.reference).toBeUndefined();
      expect(activity.detail?.kind).toBe('ServiceRequest');
      expect(activity.detail?.status).toBe('scheduled');
    }
  });

  it('links the care plan to the prescription (supportingInfo: R4 basedOn takes only a CarePlan)', () => {
    const bundle = map(typical);
    const carePlan = only<CarePlan>(bundle, 'CarePlan');
    const sr = only<ServiceRequest>(bundle, 'ServiceRequest');
    expect(carePlan.supportingInfo).toEqual([{ reference: fullUrlOf(bundle, sr), type: 'ServiceRequest' }]);
    expect(carePlan.basedOn).toBeUndefined();
  });

  it('links every goal to the plan, and each to the activities it measures', () => {
    const bundle = map(typical);
    const carePlan = only<CarePlan>(bundle, 'CarePlan');
    const [vo2max, oneRepMax, attendance] = resources<Goal>(bundle, 'Goal').map((g) => fullUrlOf(bundle, g));
    expect(carePlan.goal?.map((g) => g.reference)).toEqual([vo2max, oneRepMax, attendance]);
    const goalsOf = (i: number) => carePlan.activity?.[i]?.detail?.goal?.map((g) => g.reference);
    expect(goalsOf(0)).toEqual([vo2max, attendance]);
    expect(goalsOf(1)).toEqual([oneRepMax, attendance]);
  });

  it('codes each goal target with its measure and a UCUM quantity', () => {
    const targets = resources<Goal>(map(typical), 'Goal').map((g) => g.target?.[0]);
    expect(targets.map((t) => [t?.measure?.coding?.[0]?.system, t?.measure?.coding?.[0]?.code])).toEqual([
      [SYSTEMS.loinc, '94122-9'],
      [SYSTEMS.hitBridge, 'one-rep-max'],
      [SYSTEMS.hitBridge, 'training-sessions-per-week'],
    ]);
    expect(targets.map((t) => [t?.detailQuantity?.value, t?.detailQuantity?.code, t?.detailQuantity?.system])).toEqual([
      [48.7, 'mL/kg/min', SYSTEMS.ucum],
      [120, 'kg', SYSTEMS.ucum],
      [3, '/wk', SYSTEMS.ucum],
    ]);
    for (const target of targets) expect(target?.detailQuantity?.comparator).toBe('>=');
  });

  it('without goals makes no Goal and no goal links', () => {
    const bundle = map(input({ goals: [] }));
    expect(resources<Goal>(bundle, 'Goal')).toEqual([]);
    const carePlan = only<CarePlan>(bundle, 'CarePlan');
    expect(carePlan.goal).toBeUndefined();
    for (const activity of carePlan.activity ?? []) expect(activity.detail?.goal).toBeUndefined();
    const withoutGoals: PrescriptionInput = { ...typical };
    delete (withoutGoals as { goals?: unknown }).goals;
    expect(withoutGoals).not.toHaveProperty('goals');
    expect(resources<Goal>(map(withoutGoals), 'Goal')).toEqual([]);
  });

  it('needs no HRmax for strength only, and says nothing about heart rate', () => {
    const bundle = map(
      input({
        patient: { nationalId: D_NUMBER_BORN_1995_11_07 },
        components: typical.components.filter((c) => c.kind === 'strength'),
      }),
    );
    expect(only<ServiceRequest>(bundle, 'ServiceRequest').text?.div).not.toContain('Makspuls');
    expect(only<CarePlan>(bundle, 'CarePlan').text?.div).not.toContain('slag/min');
  });
});

describe('coding', () => {
  it('codes the prescription OBAB00 (NKPK 7275) and SNOMED 229065009, without the DIPS coding by default', () => {
    const bundle = map(typical);
    const codings = only<ServiceRequest>(bundle, 'ServiceRequest').code?.coding?.map((c) => [c.system, c.code]);
    expect(codings).toEqual([
      [SYSTEMS.nkpk, 'OBAB00'],
      [SYSTEMS.snomed, '229065009'],
    ]);
    for (const activity of only<CarePlan>(bundle, 'CarePlan').activity ?? []) {
      expect(activity.detail?.code?.coding?.map((c) => [c.system, c.code])).toEqual([
        [SYSTEMS.snomed, '229065009'],
        [SYSTEMS.nkpk, 'OBAB00'],
      ]);
    }
  });

  it('adds OBAB00 with the DIPS system 7220 when configured', () => {
    const bundle = map(typical, true);
    const codings = only<ServiceRequest>(bundle, 'ServiceRequest').code?.coding?.map((c) => [c.system, c.code]);
    expect(codings).toEqual([
      [SYSTEMS.nkpk, 'OBAB00'],
      [SYSTEMS.ncmpDips, 'OBAB00'],
      [SYSTEMS.snomed, '229065009'],
    ]);
    for (const activity of only<CarePlan>(bundle, 'CarePlan').activity ?? []) {
      expect(activity.detail?.code?.coding?.map((c) => c.system)).toContain(SYSTEMS.ncmpDips);
    }
  });
});

describe('narrative', () => {
  const hostile = '<script>alert("x")</script> & <b>fet</b>';

  it('escapes every piece of input text in the XHTML', () => {
    const bundle = map(
      input({
        note: hostile,
        components: [
          interval,
          {
            kind: 'strength',
            sessionsPerWeek: 2,
            sets: 4,
            reps: 4,
            intensityPercent1RM: [85, 90],
            exercises: [hostile],
          },
        ],
        goals: [{ description: hostile, measure: 'attendance', target: 3 }],
      }),
    );
    for (const entry of bundle.entry ?? []) {
      const div = (entry.resource as ServiceRequest | CarePlan | Goal).text?.div ?? '';
      expect(div).not.toContain('<script>');
      expect(div).not.toContain('<b>fet</b>');
      expect(div).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#60;b&#62;fet&#60;/b&#62;');
    }
    // Plain-text fields keep the text as written.
    expect(only<ServiceRequest>(bundle, 'ServiceRequest').note).toEqual([{ text: hostile }]);
  });

  it('writes Norwegian dates and the period for the reader', () => {
    const bundle = map(typical);
    const div = only<CarePlan>(bundle, 'CarePlan').text?.div ?? '';
    expect(div).toContain('<th>Periode</th><td>05.01.2026–01.03.2026 (8 uker)</td>');
    expect(div).toContain('Treningsresept RX-2026-0001, utstedt 02.01.2026 kl. 10.15');
    expect(div).not.toContain(BORN_1988_03_15);
  });
});
