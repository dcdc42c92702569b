/**
 * The HIT-session mapping's behaviour that matters clinically: which HRmax the zones use (a
 * measured one always, else 211 − 0.64 × age on the session day in Norway), where each interval
 * sits against the zone, the warnings a therapist needs, OBAB00 with the optional DIPS coding,
 * one identifier per resource, nothing the EHR owns created, and narrative that clinic text cannot
 * break. The golden fixtures pin the whole Bundle; these tests pin the rules behind it.
 */
import type { Bundle, Coding, Observation, Procedure } from 'fhir/r4.js';
import { SyntaxValidator } from 'fast-xml-validator';
import { businessIdentifier, DEFAULT_MAPPING_OPTIONS, searchToken } from '../../../mappings/common.ts';
import { HIT_SESSION_PROFILES, mapHitSession } from '../../../mappings/hit-session.ts';
import type { HitSessionInput, IntervalInput } from '../../../mappings/inputs.ts';
import {
  HIT_CODES,
  IDENTIFIER_SYSTEMS,
  INTERPRETATION,
  LOINC,
  OBAB00,
  SNOMED,
  SYSTEMS,
} from '../../../mappings/terminology.ts';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

// Synthetic ids (month + 80); the D-number one also has day + 40.
const MAN_1987 = withCheckDigits('158387123', 0); // born 15 March 1987
const D_NUMBER_1970 = withCheckDigits('678470345', 0); // born 27 April 1970, synthetic D-number

const FOUR_MIN = 240;

const base: HitSessionInput = {
  sessionId: 'S-UNIT-1',
  source: 'unit-test-app',
  patient: { nationalId: MAN_1987 },
  performer: { hprNumber: '9144901' },
  startedAt: '2026-03-16T10:00:00+01:00',
  endedAt: '2026-03-16T10:40:00+01:00',
  modality: 'treadmill',
  protocol: '4x4',
};

function interval(meanHr: number | undefined, peakHr?: number): IntervalInput {
  return {
    durationSeconds: FOUR_MIN,
    ...(meanHr === undefined ? {} : { meanHr }),
    ...(peakHr === undefined ? {} : { peakHr }),
  };
}

function map(overrides: Partial<HitSessionInput>, options = DEFAULT_MAPPING_OPTIONS): Bundle {
  return mapHitSession({ ...base, ...overrides }, options);
}

function resources(bundle: Bundle): (Procedure | Observation)[] {
  return (bundle.entry ?? []).map((entry) => entry.resource as Procedure | Observation);
}

function procedureOf(bundle: Bundle): Procedure {
  const procedure = resources(bundle).find((r): r is Procedure => r.resourceType === 'Procedure');
  if (procedure === undefined) throw new Error('no Procedure in the Bundle');
  return procedure;
}

function role(resource: Procedure | Observation): string {
  const value = resource.identifier?.[0]?.value ?? '';
  return value.split('/').length > 2 ? (value.split('/').pop() ?? '') : '';
}

function byRole(bundle: Bundle, wanted: string): Observation | undefined {
  return resources(bundle).find((r): r is Observation => r.resourceType === 'Observation' && role(r) === wanted);
}

function mustHave(bundle: Bundle, wanted: string): Observation {
  const observation = byRole(bundle, wanted);
  if (observation === undefined) throw new Error(`no ${wanted} Observation in the Bundle`);
  return observation;
}

function codesOf(observation: Observation): Coding[] {
  return observation.code.coding ?? [];
}

function component(observation: Observation, code: string) {
  return observation.component?.find((c) => c.code.coding?.some((coding) => coding.code === code));
}

function notesOf(observation: Observation): string {
  return (observation.note ?? []).map((note) => note.text).join(' ');
}

/** 211 − 0.64 × age, rounded half-up (docs/reference/fitness.md §1; Nes 2013), written out again here. */
function huntHrMax(age: number): number {
  return Math.round(211 - 0.64 * age);
}

describe('HRmax used for the zones', () => {
  const withIntervals = { intervals: [interval(160, 170)] };

  it('is estimated from the age on the session date when the clinic sends none', () => {
    // Born 15 March 1987: 38 on 14 March 2026, 39 from 15 March.
    const before = mustHave(map({ ...withIntervals, startedAt: '2026-03-14T10:00:00+01:00' }), 'hrmax');
    const on = mustHave(map({ ...withIntervals, startedAt: '2026-03-15T10:00:00+01:00' }), 'hrmax');
    expect(before.valueQuantity).toEqual({ value: huntHrMax(38), unit: '/min', system: SYSTEMS.ucum, code: '/min' });
    expect(on.valueQuantity?.value).toBe(huntHrMax(39));
    expect(huntHrMax(38)).not.toBe(huntHrMax(39));
    expect(codesOf(on)).toEqual([HIT_CODES.hrMaxEstimated]);
    expect(on.method?.text).toContain('211 − 0,64 × alder');
    expect(on.method?.text).toContain('39 år');
    expect(on.meta?.profile).toEqual([HIT_SESSION_PROFILES.hrMax]);
  });

  it('takes the age on the day in Norway, whatever offset the time carries', () => {
    // 23:30 UTC on 14 March is 00:30 on 15 March in Oslo: the birthday.
    const observation = mustHave(map({ ...withIntervals, startedAt: '2026-03-14T23:30:00Z' }), 'hrmax');
    expect(observation.valueQuantity?.value).toBe(huntHrMax(39));
  });

  it('uses a measured HRmax as sent and never the estimate', () => {
    const bundle = map({ ...withIntervals, hrMax: { bpm: 192, method: 'measured' } });
    const observation = mustHave(bundle, 'hrmax');
    expect(codesOf(observation)).toEqual([HIT_CODES.hrMaxMeasured]);
    expect(observation.valueQuantity?.value).toBe(192);
    // The zone follows it: 85–95 % of 192 = 163.2–182.4 → 164–182.
    expect(mustHave(bundle, 'hr-interval-1').referenceRange?.[0]).toMatchObject({
      low: { value: 164 },
      high: { value: 182 },
    });
  });

  it("uses a clinic's own estimate as sent, coded as an estimate whose method is not known", () => {
    const observation = mustHave(map({ ...withIntervals, hrMax: { bpm: 180, method: 'estimated' } }), 'hrmax');
    expect(codesOf(observation)).toEqual([HIT_CODES.hrMaxEstimated]);
    expect(observation.valueQuantity?.value).toBe(180);
    expect(observation.method?.text).toContain('oppgitt av klinikken');
    expect(observation.method?.text).not.toContain('211');
  });

  it('is not sent for a strength session without heart-rate data', () => {
    const bundle = map({
      modality: 'strength',
      strengthSets: [{ exercise: 'Beinpress', sets: 4, reps: 4, loadKg: 100 }],
    });
    expect(byRole(bundle, 'hrmax')).toBeUndefined();
  });
});

describe('heart rate per interval against the 85–95 % zone', () => {
  // HRmax 200: zone 170–190 bpm, active pause about 140.
  const hrMax = { bpm: 200, method: 'measured' } as const;

  it('gives the mean as value, the peak as a component, the zone as reference range and the position', () => {
    const bundle = map({ hrMax, intervals: [interval(180, 188), interval(165, 175), interval(192, 196)] });
    const inZone = mustHave(bundle, 'hr-interval-1');
    expect(codesOf(inZone)).toEqual([LOINC.heartRate]);
    expect(inZone.valueQuantity?.value).toBe(180);
    expect(component(inZone, HIT_CODES.heartRatePeak.code)?.valueQuantity?.value).toBe(188);
    expect(component(inZone, LOINC.exerciseDuration.code)?.valueQuantity).toMatchObject({ value: 4, code: 'min' });
    expect(inZone.referenceRange?.[0]).toMatchObject({ low: { value: 170 }, high: { value: 190 } });
    expect(inZone.interpretation).toEqual([{ coding: [INTERPRETATION.normal] }]);
    expect(mustHave(bundle, 'hr-interval-2').interpretation).toEqual([{ coding: [INTERPRETATION.low] }]);
    expect(mustHave(bundle, 'hr-interval-3').interpretation).toEqual([{ coding: [INTERPRETATION.high] }]);
    // Percent of HRmax as a clinician reads it: 180 / 200 = 90 %, 188 / 200 = 94 %.
    expect(inZone.text?.div).toContain('180 slag/min (90 % av HRmax)');
    expect(inZone.text?.div).toContain('188 slag/min (94 % av HRmax)');
    expect(procedureOf(bundle).text?.div).toContain('170–190 slag/min');
  });

  it('says the heart rate was measured during exercise', () => {
    const observation = mustHave(map({ hrMax, intervals: [interval(180)] }), 'hr-interval-1');
    expect(observation.extension).toEqual([
      {
        url: 'http://hl7.org/fhir/us/vitals/StructureDefinition/ExerciseAssociationExt',
        valueCodeableConcept: { coding: [SNOMED.duringExercise] },
      },
    ]);
    expect(observation.category?.map((c) => c.coding?.[0]?.code)).toEqual(['vital-signs', 'activity']);
  });

  it('keeps an interval with only a peak, without a value, and skips one with no heart rate at all', () => {
    const bundle = map({ hrMax, intervals: [interval(undefined, 185), interval(undefined)] });
    const peakOnly = mustHave(bundle, 'hr-interval-1');
    expect(peakOnly.valueQuantity).toBeUndefined();
    expect(peakOnly.interpretation).toBeUndefined();
    expect(component(peakOnly, HIT_CODES.heartRatePeak.code)?.valueQuantity?.value).toBe(185);
    expect(byRole(bundle, 'hr-interval-2')).toBeUndefined();
  });

  it('records active pauses with their mean against the ~70 % target', () => {
    const bundle = map({ hrMax, intervals: [interval(180)], activePauses: [{ durationSeconds: 180, meanHr: 138 }] });
    const pause = mustHave(bundle, 'hr-pause-1');
    expect(pause.valueQuantity?.value).toBe(138);
    expect(pause.text?.div).toContain('69 % av HRmax');
    expect(pause.text?.div).toContain('ca. 70 % av HRmax = 140 slag/min');
  });
});

describe('warnings a therapist needs', () => {
  it('flags a peak above an estimated HRmax on the interval, the HRmax and the Procedure', () => {
    // 39 years on the session day: estimated HRmax 186.
    const bundle = map({ intervals: [interval(170, 192), interval(172, 180)] });
    const hrMax = huntHrMax(39);
    const first = mustHave(bundle, 'hr-interval-1');
    expect(notesOf(first)).toContain(`Topppuls 192 slag/min er over estimert HRmax ${hrMax} slag/min`);
    expect(notesOf(mustHave(bundle, 'hr-interval-2'))).toBe('');
    expect(notesOf(mustHave(bundle, 'hrmax'))).toContain('estimatet er trolig for lavt');
    expect(procedureOf(bundle).text?.div).toContain('Advarsler');
    expect(procedureOf(bundle).text?.div).toContain('i intervall 1 (192 slag/min)');
  });

  it('advises a new test when the peak is above a measured HRmax', () => {
    const bundle = map({ hrMax: { bpm: 180, method: 'measured' }, intervals: [interval(165, 184)] });
    expect(notesOf(mustHave(bundle, 'hr-interval-1'))).toContain('over målt HRmax 180 slag/min');
    expect(notesOf(mustHave(bundle, 'hrmax'))).toContain('Vurder ny test');
  });

  it('flags an interval below the zone, and says so when it never reached it', () => {
    // HRmax 200: the zone starts at 170.
    const bundle = map({
      hrMax: { bpm: 200, method: 'measured' },
      intervals: [interval(165, 175), interval(150, 160), interval(180, 185)],
    });
    const reached = notesOf(mustHave(bundle, 'hr-interval-1'));
    const never = notesOf(mustHave(bundle, 'hr-interval-2'));
    expect(reached).toContain('snittpuls 165 slag/min er under sonen');
    expect(reached).not.toContain('aldri');
    expect(never).toContain('pulsen nådde aldri sonen');
    expect(mustHave(bundle, 'hr-interval-2').interpretation).toEqual([{ coding: [INTERPRETATION.low] }]);
    expect(notesOf(mustHave(bundle, 'hr-interval-3'))).toBe('');
  });
});

describe('time in zone', () => {
  // Not in the input contract yet (see mappings/hit-session.ts): sent here as the monitor would.
  const withTime = (seconds: readonly (number | undefined)[]): IntervalInput[] =>
    seconds.map((s) => ({ ...interval(180), ...(s === undefined ? {} : { secondsInZone: s }) }));

  it('sums the time each interval spent in the zone, in minutes, derived from the HRmax used', () => {
    const bundle = map({ hrMax: { bpm: 200, method: 'measured' }, intervals: withTime([150, 200, 220, 236]) });
    const observation = mustHave(bundle, 'time-in-zone');
    expect(codesOf(observation)).toEqual([HIT_CODES.timeInZone]);
    // 806 s = 13.43 min → 13.4.
    expect(observation.valueQuantity).toEqual({ value: 13.4, unit: 'min', system: SYSTEMS.ucum, code: 'min' });
    const hrMaxUrl = bundle.entry?.find((e) => role(e.resource as Observation) === 'hrmax')?.fullUrl;
    expect(observation.derivedFrom).toEqual([{ reference: hrMaxUrl, type: 'Observation' }]);
  });

  it('is not sent when an interval has no time in zone, and the narrative says so', () => {
    const bundle = map({ hrMax: { bpm: 200, method: 'measured' }, intervals: withTime([150, undefined]) });
    expect(byRole(bundle, 'time-in-zone')).toBeUndefined();
    expect(procedureOf(bundle).text?.div).toContain('Ikke registrert for intervall 2');
  });
});

describe('the Procedure', () => {
  it('is coded OBAB00 and SNOMED CT exercise therapy, completed, for the patient by the therapist', () => {
    const procedure = procedureOf(map({}));
    expect(procedure.code?.coding).toEqual([OBAB00, SNOMED.exerciseTherapy]);
    expect(procedure.status).toBe('completed');
    expect(procedure.performedPeriod).toEqual({ start: base.startedAt, end: base.endedAt });
    expect(procedure.performer?.[0]?.actor.reference).toBe(`Practitioner?identifier=${IDENTIFIER_SYSTEMS.hpr}|9144901`);
    expect(procedure.meta?.profile).toEqual([HIT_SESSION_PROFILES.procedure]);
  });

  it('adds the DIPS coding of NCMP only when configured', () => {
    const systems = (bundle: Bundle) => procedureOf(bundle).code?.coding?.map((c) => c.system);
    expect(systems(map({}))).not.toContain(SYSTEMS.ncmpDips);
    const withDips = procedureOf(map({}, { ehrProfile: 'generic', ncmpDipsCoding: true })).code?.coding;
    expect(withDips).toContainEqual({ ...OBAB00, system: SYSTEMS.ncmpDips });
    expect(withDips?.[0]).toEqual(OBAB00);
  });

  it("is based on the prescription's ServiceRequest by exactly the identifier the prescription mapping gives it", () => {
    const identifier = businessIdentifier(base.source, 'prescription', 'RX-9');
    expect(procedureOf(map({ prescriptionId: 'RX-9' })).basedOn).toEqual([
      { reference: `ServiceRequest?identifier=${searchToken(identifier)}`, identifier, type: 'ServiceRequest' },
    ]);
    expect(procedureOf(map({})).basedOn).toBeUndefined();
  });

  it("carries the clinic's note", () => {
    expect(procedureOf(map({ note: 'Gikk fint.' })).note).toEqual([{ text: 'Gikk fint.' }]);
  });
});

describe('strength sets', () => {
  it('gives the load as value and exercise, sets, reps, 1RM and % of 1RM as components', () => {
    const bundle = map({
      modality: 'strength',
      strengthSets: [
        { exercise: 'Beinpress', sets: 4, reps: 4, loadKg: 110, oneRepMaxKg: 125 },
        { exercise: 'Knebøy', sets: 3, reps: 6, loadKg: 50 },
      ],
    });
    const first = mustHave(bundle, 'strength-1');
    expect(codesOf(first)).toEqual([HIT_CODES.strengthSet]);
    expect(first.valueQuantity).toEqual({ value: 110, unit: 'kg', system: SYSTEMS.ucum, code: 'kg' });
    expect(component(first, HIT_CODES.strengthExercise.code)?.valueString).toBe('Beinpress');
    expect(component(first, HIT_CODES.strengthSets.code)?.valueInteger).toBe(4);
    expect(component(first, HIT_CODES.strengthReps.code)?.valueInteger).toBe(4);
    expect(component(first, HIT_CODES.oneRepMax.code)?.valueQuantity?.value).toBe(125);
    expect(component(first, HIT_CODES.percentOfOneRepMax.code)?.valueQuantity).toMatchObject({ value: 88, code: '%' });
    const second = mustHave(bundle, 'strength-2');
    expect(component(second, HIT_CODES.percentOfOneRepMax.code)).toBeUndefined();
    expect(component(second, HIT_CODES.oneRepMax.code)).toBeUndefined();
  });
});

describe('every resource', () => {
  const full = map({
    patient: { nationalId: D_NUMBER_1970 },
    intervals: [interval(150, 160), interval(160, 170)],
    activePauses: [{ durationSeconds: 180, meanHr: 120 }],
    borgRpe: 17,
    strengthSets: [{ exercise: 'Beinpress', sets: 4, reps: 4, loadKg: 100, oneRepMaxKg: 115 }],
    prescriptionId: 'RX-1',
  });
  const entries = full.entry ?? [];

  it('has its own business identifier, created only if none exists, and names its profile', () => {
    const values = entries.map((entry) => (entry.resource as Observation).identifier?.[0]?.value);
    expect(new Set(values).size).toBe(entries.length);
    expect(new Set(entries.map((entry) => entry.fullUrl)).size).toBe(entries.length);
    for (const entry of entries) {
      const resource = entry.resource as Observation | Procedure;
      const identifier = resource.identifier?.[0];
      expect(identifier?.system).toBe('https://hit-bridge.no/fhir/sid/unit-test-app');
      expect(identifier?.value).toMatch(/^session\/S-UNIT-1(\/[a-z0-9-]+)?$/);
      expect(entry.request).toEqual({
        method: 'POST',
        url: resource.resourceType,
        ifNoneExist: `identifier=${searchToken(identifier ?? {})}`,
      });
      expect(resource.meta?.profile?.[0]).toMatch(/^https:\/\/hit-bridge\.no\/fhir\/StructureDefinition\/hit-/);
      expect(resource.text?.div).toMatch(/^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml">/);
    }
    expect(values.map((value) => value?.split('/')[2] ?? 'procedure').sort()).toEqual(
      ['procedure', 'hrmax', 'hr-interval-1', 'hr-interval-2', 'hr-pause-1', 'borg-rpe', 'strength-1'].sort(),
    );
  });

  it('never creates a Patient or Practitioner: it refers to them by identifier (a D-number here)', () => {
    expect(entries.map((entry) => entry.resource?.resourceType).sort()).toEqual(
      ['Procedure', ...Array<string>(6).fill('Observation')].sort(),
    );
    for (const resource of resources(full)) {
      expect(resource.subject?.reference).toBe(`Patient?identifier=${IDENTIFIER_SYSTEMS.dNumber}|${D_NUMBER_1970}`);
    }
  });

  it('is partOf the Procedure, by its fullUrl in the Bundle', () => {
    const procedureUrl = entries.find((entry) => entry.resource?.resourceType === 'Procedure')?.fullUrl;
    for (const resource of resources(full).filter((r): r is Observation => r.resourceType === 'Observation')) {
      expect(resource.partOf).toEqual([{ reference: procedureUrl, type: 'Procedure' }]);
      expect(resource.performer?.[0]?.identifier?.value).toBe('9144901');
      expect(resource.effectivePeriod ?? resource.effectiveDateTime).toBeDefined();
    }
  });
});

describe('narrative', () => {
  it('escapes clinic text, so a note cannot inject markup', () => {
    const bundle = map({
      note: 'Bra <script>alert("x")</script> & videre',
      modality: 'strength',
      strengthSets: [{ exercise: 'Knebøy <b>dyp</b>', sets: 4, reps: 4, loadKg: 60 }],
    });
    const procedureDiv = procedureOf(bundle).text?.div ?? '';
    expect(procedureDiv).not.toContain('<script>');
    expect(procedureDiv).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; videre');
    expect(mustHave(bundle, 'strength-1').text?.div).not.toContain('<b>dyp</b>');
    // The note itself is data, kept as sent (Annotation.text is markdown; viewers escape it).
    expect(procedureOf(bundle).note?.[0]?.text).toBe('Bra <script>alert("x")</script> & videre');
  });

  it('escapes every piece of input text it writes (<, &, quotes), and every narrative stays well-formed XHTML', () => {
    // The narratives insert the mapping's own text as it is and escape only the input's text:
    // each place input text appears is pinned here, the ids the schema restricts included.
    const hostile = `<b>&amp; "dyp" 'x'</b> & <`;
    const escaped = '&#60;b&#62;&#38;amp; &#34;dyp&#34; &#39;x&#39;&#60;/b&#62; &#38; &#60;';
    const bundle = map({
      note: `Merknad ${hostile}`,
      prescriptionId: `RX${hostile}`,
      performer: { hprNumber: `9144901${hostile}` },
      intervals: [interval(171, 180)],
      activePauses: [{ durationSeconds: 180, meanHr: 130 }],
      borgRpe: 17,
      strengthSets: [{ exercise: `Knebøy ${hostile}`, sets: 4, reps: 4, loadKg: 60, oneRepMaxKg: 80 }],
    });
    const procedureDiv = procedureOf(bundle).text?.div ?? '';
    expect(procedureDiv).toContain(`<p><b>Merknad fra klinikken:</b> Merknad ${escaped}</p>`);
    expect(procedureDiv).toContain(
      `<tr><th>Forskrivning</th><td>Gjennomført etter forskrivning RX${escaped}</td></tr>`,
    );
    expect(procedureDiv).toContain(
      `<tr><th>Utført av</th><td>Helsepersonell med HPR-nummer 9144901${escaped}</td></tr>`,
    );
    expect(procedureDiv).toContain(`<tr><td>Knebøy ${escaped}</td><td>4 × 4</td>`);
    const strengthDiv = mustHave(bundle, 'strength-1').text?.div ?? '';
    expect(strengthDiv).toContain(`<p><b>Styrketrening: Knebøy ${escaped}</b></p>`);
    expect(strengthDiv).toContain(`<tr><th>Øvelse</th><td>Knebøy ${escaped}</td></tr>`);
    for (const resource of resources(bundle)) {
      const div = resource.text?.div ?? '';
      expect(div).not.toContain(hostile);
      expect(() => SyntaxValidator.validate(div)).not.toThrow();
    }
  });

  it('is Norwegian and readable on its own: the session, HRmax, intervals and Borg', () => {
    const div =
      procedureOf(
        map({
          hrMax: { bpm: 190, method: 'measured' },
          intervals: [{ durationSeconds: FOUR_MIN, meanHr: 171, peakHr: 180, speedKmh: 6.5, inclinePercent: 8 }],
          borgRpe: 17,
        }),
      ).text?.div ?? '';
    expect(div).toContain('4x4-intervaller på tredemølle');
    expect(div).toContain('16.03.2026 kl. 10.00–10.40 (40 min)');
    expect(div).toContain('190 slag/min (målt)');
    expect(div).toContain('171 slag/min (90 % av HRmax)');
    expect(div).toContain('6,5 km/t, 8 % stigning');
    expect(div).toContain('17 på skalaen 6–20');
  });
});
