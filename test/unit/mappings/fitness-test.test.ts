/**
 * The fitness-test mapping's behaviour that matters clinically: when VO2max is estimated and when
 * never, fitness age against the right sex's norms and linked to its VO2max, one identifier per
 * resource, nothing the EHR owns created, and narrative that cannot be broken by clinic text.
 * The golden fixtures pin the whole Bundle; these tests pin the rules behind it.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Bundle, Observation } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { FITNESS_TEST_PROFILES, mapFitnessTest } from '../../../mappings/fitness-test.ts';
import type { FitnessTestInput } from '../../../mappings/inputs.ts';
import { CATEGORY, HIT_CODES, LOINC } from '../../../mappings/terminology.ts';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

// Synthetic ids (month + 80): the 9th digit gives the sex (odd male, even female).
const MAN_1988 = withCheckDigits('158388123', 0); // born 15 March 1988
const WOMAN_1975 = withCheckDigits('028675246', 0); // born 2 June 1975
// Same birth date, different sex: born 15 March 1985.
const MAN_1985 = withCheckDigits('158385123');
const WOMAN_1985 = withCheckDigits('158385124');

const base: FitnessTestInput = {
  testId: 'FT-UNIT-1',
  source: 'unit-test-app',
  patient: { nationalId: MAN_1988 },
  performer: { hprNumber: '9144901' },
  performedAt: '2026-03-12T09:30:00+01:00',
  kind: 'treadmill-max',
};

const submaxStage = { durationMinutes: 4, speedKmh: 5.0, inclinePercent: 5, steadyStateHr: 132 } as const;

function map(overrides: Partial<FitnessTestInput>): Bundle {
  return mapFitnessTest({ ...base, ...overrides }, DEFAULT_MAPPING_OPTIONS);
}

function observations(bundle: Bundle): Observation[] {
  return (bundle.entry ?? []).map((entry) => entry.resource as Observation);
}

function role(observation: Observation): string {
  return observation.identifier?.[0]?.value?.split('/').pop() ?? '';
}

function byRole(bundle: Bundle, wanted: string): Observation | undefined {
  return observations(bundle).find((observation) => role(observation) === wanted);
}

function mustHave(bundle: Bundle, wanted: string): Observation {
  const observation = byRole(bundle, wanted);
  if (observation === undefined) throw new Error(`no ${wanted} Observation in the Bundle`);
  return observation;
}

function fullUrlOf(bundle: Bundle, wanted: string): string | undefined {
  return bundle.entry?.find((entry) => role(entry.resource as Observation) === wanted)?.fullUrl;
}

/** Ebbeling et al. 1991 written out again here (docs/reference/fitness.md §6), speed in mph. */
function ebbelingByHand(kmh: number, hr: number, age: number, male: boolean): number {
  const mph = kmh / 1.609344;
  const vo2 = 15.1 + 21.8 * mph - 0.327 * hr - 0.263 * mph * age + 0.00504 * hr * age + 5.98 * (male ? 1 : 0);
  return Math.round(vo2 * 10) / 10;
}

describe('VO2max: measured, sent, or estimated with Ebbeling', () => {
  it('estimates VO2max with Ebbeling for a treadmill-submax test sent without one', () => {
    const bundle = map({ kind: 'treadmill-submax', patient: { nationalId: WOMAN_1975 }, submax: submaxStage });
    const vo2max = mustHave(bundle, 'vo2max');
    // Woman, 50 years on 12 March 2026, 5 km/h, HR 132: 32.07 → 32.1 mL/kg/min.
    expect(ebbelingByHand(5.0, 132, 50, false)).toBe(32.1);
    expect(vo2max.valueQuantity).toEqual({
      value: 32.1,
      unit: 'mL/kg/min',
      system: 'http://unitsofmeasure.org',
      code: 'mL/kg/min',
    });
    expect(vo2max.code.coding).toEqual([LOINC.vo2maxPerKg]);
    expect(vo2max.method?.text).toMatch(/^Estimert med Ebbelings enkelttrinns gangtest.*MSSE 1991/);
    expect(vo2max.note?.map((note) => note.text).join(' ')).toContain('4,85 mL/kg/min');
    expect(vo2max.text?.div).toContain('32,1 mL/kg/min (estimat)');
  });

  it('uses the sex from the national id in the Ebbeling equation', () => {
    const man = mustHave(
      map({ kind: 'treadmill-submax', patient: { nationalId: MAN_1985 }, submax: submaxStage }),
      'vo2max',
    );
    const woman = mustHave(
      map({ kind: 'treadmill-submax', patient: { nationalId: WOMAN_1985 }, submax: submaxStage }),
      'vo2max',
    );
    // 40 years old on 12 March 2026 (birthday on the 15th).
    expect(man.valueQuantity?.value).toBe(ebbelingByHand(5.0, 132, 40, true));
    expect(woman.valueQuantity?.value).toBe(ebbelingByHand(5.0, 132, 40, false));
  });

  it.each(['measured', 'estimated'] as const)(
    'never replaces a VO2max the clinic sent (%s), even on a submax test with stage data',
    (method) => {
      const bundle = map({ kind: 'treadmill-submax', submax: submaxStage, vo2max: { value: 44.4, method } });
      const vo2max = mustHave(bundle, 'vo2max');
      expect(vo2max.valueQuantity?.value).toBe(44.4);
      expect(vo2max.method?.text).not.toContain('Ebbeling');
      expect(JSON.stringify(bundle)).not.toContain('Ebbeling');
      expect(vo2max.text?.div).toContain(method === 'measured' ? '(målt)' : '(estimat)');
      // The stage is still recorded, on the grouping Observation.
      expect(mustHave(bundle, 'panel').component).toHaveLength(4);
    },
  );

  it('estimates only for treadmill-submax tests', () => {
    for (const kind of ['treadmill-max', 'six-minute', 'one-rep-max'] as const) {
      const bundle = map({ kind, submax: submaxStage, hrMax: { bpm: 187, method: 'measured' } });
      expect([kind, byRole(bundle, 'vo2max'), byRole(bundle, 'fitness-age')]).toEqual([kind, undefined, undefined]);
    }
  });

  it('warns in Norwegian when the stage is outside what the equation was derived on', () => {
    // Man born 1960 is 65; 9 km/h is 5.59 mph; 10 % grade; a 3-minute stage.
    const old = withCheckDigits('220960311');
    const bundle = map({
      kind: 'treadmill-submax',
      patient: { nationalId: old },
      submax: { durationMinutes: 3, speedKmh: 9, inclinePercent: 10, steadyStateHr: 150 },
    });
    const notes = mustHave(bundle, 'vo2max').note?.map((note) => note.text) ?? [];
    expect(notes).toEqual(
      expect.arrayContaining([
        expect.stringContaining('Stigningen var 10 %'),
        expect.stringContaining('Trinnet varte 3 min'),
        expect.stringContaining('Hastigheten (5,59 mph = 9 km/t)'),
        expect.stringContaining('Alderen (65 år) er utenfor 20–59 år'),
      ]),
    );
  });

  it('says so on the grouping Observation when the stage gives no meaningful estimate', () => {
    const bundle = map({
      kind: 'treadmill-submax',
      patient: { nationalId: WOMAN_1975 },
      submax: { durationMinutes: 4, speedKmh: 0.5, inclinePercent: 5, steadyStateHr: 250 },
    });
    expect(byRole(bundle, 'vo2max')).toBeUndefined();
    expect(byRole(bundle, 'fitness-age')).toBeUndefined();
    const panel = mustHave(bundle, 'panel');
    expect(panel.note?.[0]?.text).toContain('VO2max kunne ikke estimeres');
    expect(panel.text?.div).toContain('VO2max kunne ikke estimeres');
  });
});

describe('fitness age', () => {
  it("compares with the HUNT3 means of the patient's own sex", () => {
    // 38.4 mL/kg/min is the women's 40–49 mean (midpoint 45); for men it lies between the
    // 60–69 (39.2) and 70+ (35.3) means: 65 + 10 × 0.8 / 3.9 = 67.05 → 67.
    const woman = mustHave(
      map({ patient: { nationalId: WOMAN_1985 }, vo2max: { value: 38.4, method: 'measured' } }),
      'fitness-age',
    );
    const man = mustHave(
      map({ patient: { nationalId: MAN_1985 }, vo2max: { value: 38.4, method: 'measured' } }),
      'fitness-age',
    );
    expect(woman.valueQuantity).toEqual({ value: 45, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' });
    expect(man.valueQuantity?.value).toBe(67);
    expect(woman.text?.div).toContain('kvinner 40–49 år');
    expect(man.text?.div).toContain('menn 40–49 år');
  });

  it('is coded as our fitness-age estimate and says it is an estimate', () => {
    const age = mustHave(map({ vo2max: { value: 41.0, method: 'measured' } }), 'fitness-age');
    expect(age.code.coding).toEqual([HIT_CODES.fitnessAge]);
    // Men: 55 + 10 × (42.6 − 41.0) / (42.6 − 39.2) = 59.7 → 60.
    expect(age.valueQuantity?.value).toBe(60);
    expect(age.text?.div).toContain('60 år (estimat)');
    expect(age.method?.text).toMatch(/^Estimat/);
  });

  it('says when the age was clamped to the method’s limits', () => {
    const age = mustHave(
      map({ patient: { nationalId: WOMAN_1985 }, vo2max: { value: 60, method: 'measured' } }),
      'fitness-age',
    );
    expect(age.valueQuantity?.value).toBe(20);
    expect(age.note?.map((note) => note.text).join(' ')).toContain('satt til 20 år');
  });

  it('is derived from the VO2max Observation in the same Bundle', () => {
    const bundle = map({ vo2max: { value: 41.0, method: 'measured' } });
    const age = mustHave(bundle, 'fitness-age');
    const vo2max = mustHave(bundle, 'vo2max');
    expect(age.derivedFrom).toEqual([
      { reference: fullUrlOf(bundle, 'vo2max'), type: 'Observation', identifier: vo2max.identifier?.[0] },
    ]);
  });

  it('notes when it rests on an estimated VO2max', () => {
    const bundle = map({ kind: 'treadmill-submax', patient: { nationalId: WOMAN_1975 }, submax: submaxStage });
    expect(mustHave(bundle, 'fitness-age').note?.map((note) => note.text)).toContain(
      'Bygger på en estimert VO2max, ikke en målt.',
    );
  });
});

describe('the other results', () => {
  it('codes HRmax by its method with the shared profile', () => {
    const measured = mustHave(map({ hrMax: { bpm: 187, method: 'measured' } }), 'hrmax');
    const estimated = mustHave(map({ hrMax: { bpm: 187, method: 'estimated' } }), 'hrmax');
    expect(measured.code.coding).toEqual([HIT_CODES.hrMaxMeasured]);
    expect(estimated.code.coding).toEqual([HIT_CODES.hrMaxEstimated]);
    // The man is 37 on the test day: 211 − 0.64 × 37 = 187.3 → 187.
    expect(estimated.method?.text).toBe(
      'Estimert; samsvarer med HUNT-formelen 211 − 0,64 × alder (Nes et al. 2013) for 37 år',
    );
    expect(mustHave(map({ hrMax: { bpm: 180, method: 'estimated' } }), 'hrmax').method?.text).toBe(
      'Estimert av klinikken (formel ikke oppgitt); HUNT-formelen 211 − 0,64 × alder (Nes et al. 2013) for 37 år gir 187 slag/min',
    );
    expect(measured.meta?.profile).toEqual(['https://hit-bridge.no/fhir/StructureDefinition/hit-hrmax']);
    expect(measured.valueQuantity).toEqual({
      value: 187,
      unit: '/min',
      system: 'http://unitsofmeasure.org',
      code: '/min',
    });
  });

  it('makes one 1RM Observation per exercise, naming the exercise', () => {
    const bundle = map({
      kind: 'one-rep-max',
      oneRepMax: [
        { exercise: 'Beinpress', kg: 140 },
        { exercise: 'Benkpress', kg: 57.5 },
      ],
    });
    const first = mustHave(bundle, 'one-rep-max-1');
    const second = mustHave(bundle, 'one-rep-max-2');
    expect(first.code).toEqual({ coding: [HIT_CODES.oneRepMax], text: '1RM Beinpress' });
    expect(second.valueQuantity).toEqual({ value: 57.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' });
    expect(second.text?.div).toContain('57,5 kg');
  });

  it('records the six-minute walk distance in metres', () => {
    const walk = mustHave(map({ kind: 'six-minute', sixMinuteDistanceMeters: 412 }), 'six-minute-walk');
    expect(walk.code.coding).toEqual([LOINC.sixMinuteWalkDistance]);
    expect(walk.valueQuantity).toEqual({ value: 412, unit: 'm', system: 'http://unitsofmeasure.org', code: 'm' });
  });
});

describe('the Bundle', () => {
  const full = map({
    vo2max: { value: 41.0, method: 'measured' },
    hrMax: { bpm: 187, method: 'measured' },
    oneRepMax: [
      { exercise: 'Beinpress', kg: 140 },
      { exercise: 'Knebøy', kg: 100 },
    ],
    sixMinuteDistanceMeters: 640,
    note: 'Intaketest.',
  });

  it('is a transaction of Observations only: no Patient, no Practitioner, no Procedure', () => {
    expect(full.type).toBe('transaction');
    expect(new Set(observations(full).map((resource) => resource.resourceType))).toEqual(new Set(['Observation']));
    expect(JSON.stringify(full)).not.toContain('OBAB00');
  });

  it('gives every resource its own business identifier, created only once', () => {
    const values = observations(full).map((observation) => observation.identifier?.[0]?.value);
    expect(values).toEqual([
      'fitness-test/FT-UNIT-1/panel',
      'fitness-test/FT-UNIT-1/vo2max',
      'fitness-test/FT-UNIT-1/hrmax',
      'fitness-test/FT-UNIT-1/fitness-age',
      'fitness-test/FT-UNIT-1/one-rep-max-1',
      'fitness-test/FT-UNIT-1/one-rep-max-2',
      'fitness-test/FT-UNIT-1/six-minute-walk',
    ]);
    expect(new Set(full.entry?.map((entry) => entry.fullUrl)).size).toBe(values.length);
    for (const entry of full.entry ?? []) {
      const identifier = (entry.resource as Observation).identifier?.[0];
      expect(identifier?.system).toBe('https://hit-bridge.no/fhir/sid/unit-test-app');
      expect(entry.request).toEqual({
        method: 'POST',
        url: 'Observation',
        ifNoneExist: `identifier=${identifier?.system ?? ''}|${identifier?.value ?? ''}`,
      });
    }
    expect(full.identifier?.value).toBe('fitness-test/FT-UNIT-1');
  });

  it('groups every result under the panel, in order', () => {
    const panel = mustHave(full, 'panel');
    expect(panel.code.coding).toEqual([HIT_CODES.fitnessTest]);
    expect(panel.valueQuantity).toBeUndefined();
    expect(panel.hasMember?.map((member) => member.reference)).toEqual(
      full.entry?.slice(1).map((entry) => entry.fullUrl),
    );
    expect(panel.note).toEqual([{ text: 'Intaketest.' }]);
  });

  it('puts the patient, the tester, the time, the category and the profile on every resource', () => {
    for (const observation of observations(full)) {
      expect(observation.subject?.reference).toBe(`Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|${MAN_1988}`);
      expect(observation.performer).toEqual([
        {
          reference: 'Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|9144901',
          identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.4', value: '9144901' },
          type: 'Practitioner',
        },
      ]);
      expect(observation.effectiveDateTime).toBe(base.performedAt);
      expect(observation.status).toBe('final');
      expect(observation.category).toEqual([{ coding: [CATEGORY.exam] }]);
      expect(observation.meta?.profile).toHaveLength(1);
      expect(observation.text?.div).toMatch(
        /^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">.*Tidspunkt.*12\.03\.2026 kl\. 09\.30/,
      );
    }
  });

  it('names only profiles that exist in profiles/', () => {
    for (const url of Object.values(FITNESS_TEST_PROFILES)) {
      const id = url.split('/').pop() ?? '';
      const file = `profiles/StructureDefinition-${id}.json`;
      expect([file, existsSync(file)]).toEqual([file, true]);
      expect((JSON.parse(readFileSync(file, 'utf8')) as { url: string }).url).toBe(url);
    }
  });

  it('does not depend on the DIPS coding option (no procedure code is sent)', () => {
    const input = { ...base, vo2max: { value: 41.0, method: 'measured' as const } };
    expect(mapFitnessTest(input, { ehrProfile: 'generic', ncmpDipsCoding: true })).toEqual(
      mapFitnessTest(input, DEFAULT_MAPPING_OPTIONS),
    );
  });

  it('takes the age on the test day in Norway, whatever the offset sent', () => {
    // 23:30 UTC on 14 March is 00:30 on 15 March in Oslo: the man born 15 March 1988 has turned 38.
    const bundle = map({ performedAt: '2026-03-14T23:30:00Z', vo2max: { value: 41.0, method: 'measured' } });
    expect(mustHave(bundle, 'fitness-age').text?.div).toContain('<th>Alder ved testen</th><td>38 år</td>');
  });
});

describe('narrative', () => {
  it('escapes clinic text so it can neither break nor inject markup', () => {
    const bundle = map({
      kind: 'one-rep-max',
      oneRepMax: [{ exercise: 'Knebøy <script>alert("x")</script> & co', kg: 80 }],
      note: 'Smerter i kne <b>høyre</b> & "venstre"',
    });
    for (const observation of observations(bundle)) {
      const div = observation.text?.div ?? '';
      expect(div).not.toContain('<script');
      expect(div).not.toContain('<b>høyre');
    }
    expect(mustHave(bundle, 'one-rep-max-1').text?.div).toContain(
      'Knebøy &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; co',
    );
    expect(mustHave(bundle, 'panel').text?.div).toContain(
      'Smerter i kne &#60;b&#62;høyre&#60;/b&#62; &#38; &#34;venstre&#34;',
    );
    // The structured fields keep the text as sent.
    expect(mustHave(bundle, 'one-rep-max-1').code.text).toBe('1RM Knebøy <script>alert("x")</script> & co');
  });
});
