// gatherFacts against an EHR in memory (test/support/fake-ehr.ts) holding what our mappings made of
// a synthetic stay: what it asks the EHR, what it builds from the answers, and when it says "not
// yet" or "failed" instead.
import type { Procedure, ServiceRequest } from 'fhir/r4.js';
import { businessIdentifier, searchToken } from '../../../mappings/common.ts';
import { FITNESS_TEST_PROFILES } from '../../../mappings/fitness-test.ts';
import { BASELINE_LOOKBACK_DAYS } from '../../../src/handover/facts-source.ts';
import { gatherFacts } from '../../../src/handover/gather-facts.ts';
import { cohortInEhr, createFakeEhr, REFUSED, TRANSIENT, type EhrCall, type FakeEhr } from '../../support/fake-ehr.ts';
import { FRISKLIVSSENTRAL, handoverCohort, HOSPITAL_CONTACT } from '../../support/handover-cohort.ts';

const cohort = handoverCohort('typical', 'clinic-unit');
const { patient, prescription, stay } = cohortInEhr(cohort);
const GENERATED_AT = '2026-03-02T12:30:00+01:00';

const gather = (ehr: FakeEhr, discharge = cohort.discharge) =>
  gatherFacts(ehr, {
    discharge,
    frisklivssentral: FRISKLIVSSENTRAL,
    hospitalContact: HOSPITAL_CONTACT,
    generatedAt: GENERATED_AT,
  });

const searches = (ehr: FakeEhr) =>
  ehr.calls.filter((call): call is Extract<EhrCall, { method: 'search' }> => call.method === 'search');

describe('gatherFacts', () => {
  it('asks the EHR for the patient by national id and the prescription by its business identifier, then the stay around it', async () => {
    const ehr = createFakeEhr([patient, ...prescription, ...stay]);
    const gathered = await gather(ehr);
    expect(gathered.kind).toBe('facts');
    const held = prescription.find((r): r is ServiceRequest & { id: string } => r.resourceType === 'ServiceRequest');
    const start = cohort.prescription.start;
    const lookback = new Date(Date.parse(`${start}T00:00:00Z`) - BASELINE_LOOKBACK_DAYS * 86_400_000)
      .toISOString()
      .slice(0, 10);

    expect(searches(ehr).map(({ resourceType, params }) => [resourceType, params])).toEqual([
      ['Patient', { identifier: `${patient.identifier?.[0]?.system ?? ''}|${cohort.discharge.patient.nationalId}` }],
      [
        'ServiceRequest',
        {
          identifier: searchToken(
            businessIdentifier('clinic-unit', 'prescription', cohort.prescription.prescriptionId),
          ),
        },
      ],
      [
        'CarePlan',
        {
          identifier: searchToken(
            businessIdentifier('clinic-unit', 'prescription', cohort.prescription.prescriptionId, 'careplan'),
          ),
        },
      ],
      // The sessions done under this prescription, up to the discharge.
      ['Procedure', { 'based-on': `ServiceRequest/${held?.id ?? ''}`, date: [`le${cohort.discharge.dischargedAt}`] }],
      // The fitness tests (not HRmax) from the baseline window before the start, up to the discharge.
      [
        'Observation',
        {
          subject: 'Patient/ehr-patient-1',
          _profile: expect.stringContaining(FITNESS_TEST_PROFILES.vo2max) as unknown,
          date: [`ge${lookback}`, `le${cohort.discharge.dischargedAt}`],
        },
      ],
    ]);
    const profiles = String(searches(ehr)[4]?.params._profile).split(',');
    expect(profiles).not.toContain(FITNESS_TEST_PROFILES.hrMax);
  });

  it("builds the facts from the EHR's own resources: its prescription and care plan, the training sessions, the fitness tests", async () => {
    const ehr = createFakeEhr([patient, ...prescription, ...stay]);
    const gathered = await gather(ehr);
    if (gathered.kind !== 'facts') throw new Error(`expected facts, got ${gathered.kind}`);
    const { facts } = gathered;
    expect(gathered.patientReference).toBe('Patient/ehr-patient-1');
    expect(facts.prescription.id).toBe(prescription.find((r) => r.resourceType === 'ServiceRequest')?.id);
    expect(facts.carePlan?.id).toBe(prescription.find((r) => r.resourceType === 'CarePlan')?.id);
    // 8 weeks × 3 sessions; only the training Procedures, each once.
    expect(facts.sessions).toHaveLength(24);
    expect(new Set(facts.sessions.map((p) => p.id)).size).toBe(24);
    expect(facts.observations.length).toBeGreaterThan(0);
    expect(facts).toMatchObject({
      discharge: cohort.discharge,
      frisklivssentral: FRISKLIVSSENTRAL,
      hospitalContact: HOSPITAL_CONTACT,
      generatedAt: GENERATED_AT,
    });
  });

  it('leaves out a Procedure based on the prescription that is not a training session', async () => {
    const held = prescription.find((r) => r.resourceType === 'ServiceRequest');
    const other: Procedure = {
      resourceType: 'Procedure',
      id: 'other-procedure',
      status: 'completed',
      subject: { reference: 'Patient/ehr-patient-1' },
      basedOn: [{ reference: `ServiceRequest/${held?.id ?? ''}` }],
    };
    const gathered = await gather(createFakeEhr([patient, ...prescription, ...stay, other]));
    if (gathered.kind !== 'facts') throw new Error(`expected facts, got ${gathered.kind}`);
    expect(gathered.facts.sessions.map((p) => p.id)).not.toContain('other-procedure');
    expect(gathered.facts.sessions).toHaveLength(24);
  });

  it('gathers without a care plan when the EHR has none', async () => {
    const ehr = createFakeEhr([patient, ...prescription.filter((r) => r.resourceType !== 'CarePlan'), ...stay]);
    const gathered = await gather(ehr);
    if (gathered.kind !== 'facts') throw new Error(`expected facts, got ${gathered.kind}`);
    expect(gathered.facts.carePlan).toBeUndefined();
    expect('carePlan' in gathered.facts).toBe(false);
  });

  it('says "not yet" while the EHR has no Patient with the national id, and asks nothing more', async () => {
    const ehr = createFakeEhr([...prescription, ...stay]);
    expect(await gather(ehr)).toEqual({
      kind: 'not-yet',
      reason: 'the EHR has no Patient with this national id yet',
    });
    expect(searches(ehr).map((call) => call.resourceType)).toEqual(['Patient']);
  });

  it('says "not yet", naming the prescription and its source, while the EHR has no prescription', async () => {
    const ehr = createFakeEhr([patient, ...stay]);
    expect(await gather(ehr)).toEqual({
      kind: 'not-yet',
      reason: `the EHR has no prescription ${cohort.prescription.prescriptionId} from clinic-unit yet`,
    });
    expect(searches(ehr).map((call) => call.resourceType)).toEqual(['Patient', 'ServiceRequest']);
  });

  it.each([
    ['Patient', 0],
    ['ServiceRequest', 1],
    ['CarePlan', 2],
    ['Procedure', 3],
    ['Observation', 4],
  ])("passes on the EHR's failure of the %s search, with no facts", async (_type, searchesBefore) => {
    for (const failure of [TRANSIENT, REFUSED]) {
      const ehr = createFakeEhr([patient, ...prescription, ...stay]);
      // Let the searches before it answer, then fail this one.
      const real = ehr.search.bind(ehr);
      let count = 0;
      ehr.search = (type, params, signal) => {
        if (count++ === searchesBefore) ehr.failNext('search', failure);
        return real(type, params, signal);
      };
      expect(await gather(ehr)).toEqual({ kind: 'failed', failure });
    }
  });

  it("names the discharge's own hospital contact, with the configured organisation or a generic one", async () => {
    const ehr = createFakeEhr([patient, ...prescription, ...stay]);
    const own = { name: 'Siri Sykepleier', phone: '+47 400 00 030' };
    const discharge = { ...cohort.discharge, hospitalContact: own };
    const configured = await gather(ehr, discharge);
    if (configured.kind !== 'facts') throw new Error(`expected facts, got ${configured.kind}`);
    expect(configured.facts.hospitalContact).toEqual({ organisation: HOSPITAL_CONTACT.organisation, ...own });

    const unconfigured = await gatherFacts(ehr, {
      discharge,
      frisklivssentral: FRISKLIVSSENTRAL,
      hospitalContact: undefined,
      generatedAt: GENERATED_AT,
    });
    if (unconfigured.kind !== 'facts') throw new Error(`expected facts, got ${unconfigured.kind}`);
    expect(unconfigured.facts.hospitalContact).toEqual({ organisation: 'Utskrivende sykehus', ...own });
  });
});
