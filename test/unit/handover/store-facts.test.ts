// The two adapters of the facts source from the same synthetic stays: the EHR adapter reads an EHR
// in memory holding what our mappings made of the inputs (test/support/fake-ehr.ts), the store
// adapter reads the same inputs as accepted into a real SQLite store. They must give the same
// facts (but for the ids and references only a server assigns) and byte-identical packets; and
// the store adapter keeps the EHR path's rules: wait for the prescription, only this
// prescription's sessions, only this stay's tests, this patient's records only.
import type { FhirResource, Reference } from 'fhir/r4.js';
import { fullUrlFor, searchToken } from '../../../mappings/common.ts';
import type { FitnessTestInput, HitSessionInput, PrescriptionInput } from '../../../mappings/inputs.ts';
import type { SubmissionKind } from '../../../src/kinds/kinds.ts';
import { createPatientKeyer } from '../../../src/events/patient-key.ts';
import type { Gathered } from '../../../src/handover/facts-source.ts';
import { ehrFactsSource } from '../../../src/handover/gather-facts.ts';
import { buildHandoverPackets } from '../../../src/handover/packets.ts';
import { storeFactsSource } from '../../../src/handover/store-facts.ts';
import { EXAMPLE_SENDER } from '../../../src/handover/edi/example-handover.ts';
import { parseRecipientDirectory } from '../../../src/handover/recipient-directory.ts';
import { storedHandoverMessage } from '../../../src/handover/stored-message.ts';
import { Problem } from '../../../src/platform/problem.ts';
import type { HandoverFacts } from '../../../src/handover/types.ts';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { Store } from '../../../src/store/store.ts';
import { cohortInEhr, createFakeEhr } from '../../support/fake-ehr.ts';
import {
  COHORT_VARIANTS,
  FRISKLIVSSENTRAL,
  handoverCohort,
  HOSPITAL_CONTACT,
  recipientDirectoryYaml,
  SECOND_NATIONAL_ID,
  type HandoverCohort,
} from '../../support/handover-cohort.ts';

const patientKey = createPatientKeyer('unit-test-patient-key-secret-32b');
const ACCEPTED_FROM = Date.parse('2026-04-01T08:00:00Z');

type Input = PrescriptionInput | HitSessionInput | FitnessTestInput;

/** A store holding the cohort's inputs as the API accepts them: in the order sent, a minute apart. */
async function storeWith(inputs: readonly (readonly [SubmissionKind, Input])[]): Promise<Store> {
  const store = createSqliteStore({ file: ':memory:' });
  await store.migrate();
  let n = 0;
  for (const [kind, body] of inputs) await accept(store, kind, body, new Date(ACCEPTED_FROM + 60_000 * n++));
  return store;
}

async function accept(store: Store, kind: SubmissionKind, body: Input, acceptedAt: Date) {
  const inputId = 'sessionId' in body ? body.sessionId : 'testId' in body ? body.testId : body.prescriptionId;
  const outcome = await store.accept(
    {
      id: crypto.randomUUID(),
      kind,
      source: body.source,
      inputId,
      bodyHash: crypto.randomUUID().replaceAll('-', '').padEnd(64, '0'),
      body,
      patientKey: patientKey(body.patient.nationalId),
      acceptedAt,
    },
    { queue: 'ehr-delivery', payload: {}, runAt: acceptedAt },
  );
  if (outcome.outcome !== 'created') throw new Error(`expected created, got ${outcome.outcome}`);
  return outcome.submission;
}

const inputsOf = (cohort: HandoverCohort): [SubmissionKind, Input][] => [
  ['prescriptions', cohort.prescription],
  ...cohort.fitnessTests.map((t): [SubmissionKind, Input] => ['fitness-tests', t]),
  ...cohort.sessions.map((s): [SubmissionKind, Input] => ['hit-sessions', s]),
];

const gatherInput = (cohort: HandoverCohort, discharge = cohort.discharge) => ({
  discharge,
  frisklivssentral: FRISKLIVSSENTRAL,
  hospitalContact: HOSPITAL_CONTACT,
  generatedAt: cohort.generatedAt,
});

/** A copy without these keys. */
function without(object: object, ...keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}

function factsOf(gathered: Gathered): HandoverFacts {
  if (gathered.kind !== 'facts') throw new Error(`expected facts, got ${JSON.stringify(gathered)}`);
  return gathered.facts;
}

/**
 * A resource as it means, not as one server addressed it: no server id, and every reference as
 * the business identifier of what it points at (the EHR's "Type/id", a Bundle's urn:uuid, or a
 * conditional reference all name the same resource).
 */
function canonical(resources: readonly FhirResource[], addresses: ReadonlyMap<string, string>): unknown[] {
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const object = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    const reference = (value as Reference).reference;
    if (typeof reference !== 'string') return object;
    const identifier = (value as Reference).identifier;
    const target =
      identifier === undefined
        ? addresses.get(reference)
        : `${(value as Reference).type ?? reference.split(/[/?]/)[0] ?? ''}:${searchToken(identifier)}`;
    if (target === undefined) throw new Error(`a reference the test cannot resolve: ${reference}`);
    return { ...object, reference: target };
  };
  return resources
    .map((resource) => rewrite(without(resource, 'id')))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Where each resource of the stay is addressed: the EHR's Type/id and the Bundle's urn:uuid, to its identifier. */
function addressesOf(held: readonly FhirResource[]): Map<string, string> {
  const addresses = new Map<string, string>();
  for (const resource of held) {
    const identifier = (resource as { identifier?: { system?: string; value?: string }[] }).identifier?.[0];
    if (identifier === undefined) continue;
    const target = `${resource.resourceType}:${searchToken(identifier)}`;
    addresses.set(fullUrlFor(identifier), target);
    if (resource.id !== undefined) addresses.set(`${resource.resourceType}/${resource.id}`, target);
  }
  return addresses;
}

describe('facts from the store (EHR_PROFILE=dips-arena) against facts from the EHR (generic)', () => {
  it.each(COHORT_VARIANTS)(
    'gives the same facts and byte-identical packets as the EHR adapter for the same inputs: %s',
    async (variant) => {
      const cohort = handoverCohort(variant, 'clinic-unit');
      const { patient, prescription, stay } = cohortInEhr(cohort);
      const fromEhr = factsOf(
        await ehrFactsSource(createFakeEhr([patient, ...prescription, ...stay])).gather(gatherInput(cohort)),
      );
      const store = await storeWith(inputsOf(cohort));
      const fromStore = factsOf(await storeFactsSource({ store, patientKey }).gather(gatherInput(cohort)));
      const addresses = addressesOf([...prescription, ...stay]);

      expect(fromStore.sessions.length).toBeGreaterThan(0);
      expect(fromStore.sessions).toHaveLength(fromEhr.sessions.length);
      expect(fromStore.observations).toHaveLength(fromEhr.observations.length);
      expect(canonical(fromStore.sessions, addresses)).toEqual(canonical(fromEhr.sessions, addresses));
      expect(canonical(fromStore.observations, addresses)).toEqual(canonical(fromEhr.observations, addresses));
      expect(canonical([fromStore.prescription], addresses)).toEqual(canonical([fromEhr.prescription], addresses));
      expect(canonical(fromStore.carePlan ? [fromStore.carePlan] : [], addresses)).toEqual(
        canonical(fromEhr.carePlan ? [fromEhr.carePlan] : [], addresses),
      );
      expect(without(fromStore, 'prescription', 'carePlan', 'sessions', 'observations')).toEqual(
        without(fromEhr, 'prescription', 'carePlan', 'sessions', 'observations'),
      );

      expect(JSON.stringify(buildHandoverPackets(fromStore))).toBe(JSON.stringify(buildHandoverPackets(fromEhr)));
      await store.close();
    },
  );

  it('the comparison bites: a stay missing one session gives other facts and other packets', async () => {
    const cohort = handoverCohort('typical', 'clinic-unit');
    const { patient, prescription, stay } = cohortInEhr(cohort);
    const fromEhr = factsOf(
      await ehrFactsSource(createFakeEhr([patient, ...prescription, ...stay])).gather(gatherInput(cohort)),
    );
    const store = await storeWith(inputsOf(cohort).slice(0, -1));
    const fromStore = factsOf(await storeFactsSource({ store, patientKey }).gather(gatherInput(cohort)));
    const addresses = addressesOf([...prescription, ...stay]);
    expect(canonical(fromStore.sessions, addresses)).not.toEqual(canonical(fromEhr.sessions, addresses));
    expect(JSON.stringify(buildHandoverPackets(fromStore))).not.toBe(JSON.stringify(buildHandoverPackets(fromEhr)));
    await store.close();
  });
});

describe('storeFactsSource', () => {
  const cohort = handoverCohort('typical', 'clinic-unit');
  const gather = (store: Store, discharge = cohort.discharge) =>
    storeFactsSource({ store, patientKey }).gather(gatherInput(cohort, discharge));

  it('says "not yet", naming the prescription and its source, while hit-bridge has not accepted the prescription', async () => {
    const store = await storeWith(inputsOf(cohort).slice(1));
    expect(await gather(store)).toEqual({
      kind: 'not-yet',
      reason: `hit-bridge has not accepted the prescription ${cohort.prescription.prescriptionId} from clinic-unit yet`,
    });
    await accept(store, 'prescriptions', cohort.prescription, new Date(ACCEPTED_FROM + 3_600_000_000));
    expect((await gather(store)).kind).toBe('facts');
    await store.close();
  });

  it("tells the timeline the facts came from hit-bridge's store, with the submissions it read", async () => {
    const store = await storeWith(inputsOf(cohort));
    const gathered = await gather(store);
    if (gathered.kind !== 'facts') throw new Error(`expected facts, got ${gathered.kind}`);
    const note = gathered.timeline[0];
    expect(gathered.timeline).toHaveLength(1);
    expect(note?.message).toBe(
      "Facts read from hit-bridge's store (EHR_PROFILE=dips-arena: DIPS Arena holds no prescription, fitness test or " +
        `link from a session to its prescription): the prescription ${cohort.prescription.prescriptionId} from clinic-unit, ` +
        `${String(cohort.sessions.length)} training session(s), ${String(cohort.fitnessTests.length)} fitness test(s).`,
    );
    expect(note?.detail).toMatchObject({ factsFrom: 'store' });
    expect((note?.detail?.sessions as string[]).length).toBe(cohort.sessions.length);
    expect(JSON.stringify(note)).not.toContain(cohort.discharge.patient.nationalId);
    await store.close();
  });

  it("leaves out sessions of another prescription or source, after the discharge, and tests outside the stay's window", async () => {
    const [first] = cohort.sessions;
    const [test] = cohort.fitnessTests;
    if (first === undefined || test === undefined) throw new Error('cohort without sessions or tests');
    const withoutPrescription = without(first, 'prescriptionId') as unknown as HitSessionInput;
    const extras: [SubmissionKind, Input][] = [
      ['hit-sessions', { ...first, sessionId: 'S-other-rx', prescriptionId: 'RX-OTHER' }],
      ['hit-sessions', { ...first, sessionId: 'S-other-source', source: 'clinic-other' }],
      ['hit-sessions', { ...withoutPrescription, sessionId: 'S-no-rx' }],
      [
        'hit-sessions',
        {
          ...first,
          sessionId: 'S-after',
          startedAt: '2026-12-01T10:00:00+01:00',
          endedAt: '2026-12-01T10:40:00+01:00',
        },
      ],
      // 93 days before the start (2026-01-05): one day outside the baseline window.
      ['fitness-tests', { ...test, testId: 'FT-too-early', performedAt: '2025-10-03T10:00:00Z' }],
      // 92 days before: the window's first day.
      ['fitness-tests', { ...test, testId: 'FT-baseline', performedAt: '2025-10-05T10:00:00Z' }],
      ['fitness-tests', { ...test, testId: 'FT-after', performedAt: '2026-12-01T10:00:00Z' }],
    ];
    const store = await storeWith([...inputsOf(cohort), ...extras]);
    const facts = factsOf(await gather(store));
    const sessionIds = facts.sessions.map((p) => p.identifier?.[0]?.value);
    expect(sessionIds).toHaveLength(cohort.sessions.length);
    for (const id of ['S-other-rx', 'S-other-source', 'S-no-rx', 'S-after'])
      expect(sessionIds).not.toContain(`session/${id}`);
    const testIds = new Set(facts.observations.map((o) => o.identifier?.[0]?.value?.split('/')[1]));
    expect(testIds).toContain('FT-baseline');
    expect(testIds).not.toContain('FT-too-early');
    expect(testIds).not.toContain('FT-after');
    await store.close();
  });

  it("reads only this patient's records: another patient's sessions and tests are not in the facts", async () => {
    const other = (input: Input): Input => ({ ...input, patient: { nationalId: SECOND_NATIONAL_ID } });
    const store = await storeWith([
      ...inputsOf(cohort),
      ...cohort.sessions.map((s): [SubmissionKind, Input] => [
        'hit-sessions',
        other({ ...s, sessionId: `${s.sessionId}-B` }),
      ]),
      ...cohort.fitnessTests.map((t): [SubmissionKind, Input] => [
        'fitness-tests',
        other({ ...t, testId: `${t.testId}-B` }),
      ]),
    ]);
    const facts = factsOf(await gather(store));
    expect(facts.sessions).toHaveLength(cohort.sessions.length);
    expect(JSON.stringify(facts.sessions)).not.toContain(SECOND_NATIONAL_ID);
    expect(JSON.stringify(facts.observations)).not.toContain(SECOND_NATIONAL_ID);
    await store.close();
  });

  it('makes no plan when the discharge names a prescription of another patient', async () => {
    const store = await storeWith([
      ['prescriptions', { ...cohort.prescription, patient: { nationalId: SECOND_NATIONAL_ID } }],
    ]);
    expect(await gather(store)).toEqual({
      kind: 'unavailable',
      reason: `the prescription ${cohort.prescription.prescriptionId} from clinic-unit is for another patient than the discharge`,
    });
    await store.close();
  });

  describe('after retention erased records of the stay', () => {
    async function deliverAndErase(store: Store, ids: readonly string[], at: Date): Promise<void> {
      const jobs = await store.claim('ehr-delivery', 'unit', { now: at, leaseMs: 60_000, limit: 1000 });
      for (const job of jobs)
        if (ids.includes(job.submissionId)) await store.complete(job, { status: 'delivered' }, at);
      const erased = await store.erasePersonalData({ deliveredBefore: at, failedBefore: new Date(0), limit: 1000 }, at);
      expect([...erased].sort()).toEqual([...ids].sort());
    }

    it('makes no plan from what is left, and says what was erased and when', async () => {
      const store = await storeWith(inputsOf(cohort));
      const sessions = await store.patientSubmissions(
        patientKey(cohort.discharge.patient.nationalId),
        ['hit-sessions'],
        new Date(0),
      );
      await deliverAndErase(
        store,
        sessions.slice(0, 3).map((s) => s.id),
        new Date('2026-05-10T00:00:00Z'),
      );
      const gathered = await gather(store);
      expect(gathered).toEqual({
        kind: 'unavailable',
        reason:
          'retention erased the content of 3 training session record(s) of this stay on 2026-05-10, before the discharge; ' +
          "under EHR_PROFILE=dips-arena hit-bridge's store is the only copy, and a plan from what is left would misstate " +
          'the prescription, attendance or results, so no packets are made (RETENTION_DAYS must cover the baseline window and the whole stay)',
      });
      await store.close();
    });

    it('makes no plan when the prescription itself was erased', async () => {
      const store = await storeWith(inputsOf(cohort));
      const rx = await store.findSubmission('clinic-unit', 'prescriptions', cohort.prescription.prescriptionId);
      await deliverAndErase(store, [rx?.id ?? ''], new Date('2026-05-10T00:00:00Z'));
      const gathered = await gather(store);
      if (gathered.kind !== 'unavailable') throw new Error(`expected unavailable, got ${gathered.kind}`);
      expect(gathered.reason).toMatch(
        new RegExp(
          `^retention erased the content of the prescription ${cohort.prescription.prescriptionId} from clinic-unit of this stay on 2026-05-10`,
        ),
      );
      await store.close();
    });
  });
});

describe('the handover message of a stored discharge, from the store under dips-arena', () => {
  const cohort = handoverCohort('typical', 'clinic-unit');
  const parsed = parseRecipientDirectory(recipientDirectoryYaml(), 'directory.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));

  async function withDischarge(store: Store): Promise<string> {
    const outcome = await store.accept(
      {
        id: crypto.randomUUID(),
        kind: 'discharges',
        source: cohort.discharge.source,
        inputId: cohort.discharge.dischargeId,
        bodyHash: 'd'.repeat(64),
        body: cohort.discharge,
        patientKey: patientKey(cohort.discharge.patient.nationalId),
        acceptedAt: new Date(ACCEPTED_FROM + 3_600_000),
      },
      { queue: 'event-publish', payload: {}, runAt: new Date(ACCEPTED_FROM) },
    );
    return outcome.outcome === 'conflict' ? '' : outcome.submission.id;
  }

  const message = (store: Store, id: string) =>
    storedHandoverMessage(
      {
        store,
        facts: storeFactsSource({ store, patientKey }),
        directory: parsed.directory,
        hospitalContact: HOSPITAL_CONTACT,
        sender: EXAMPLE_SENDER,
        clock: () => new Date(cohort.generatedAt),
      },
      id,
    );

  it("is made from the store's records, with the patient's national id", async () => {
    const store = await storeWith(inputsOf(cohort));
    const xml = await message(store, await withDischarge(store));
    expect(xml).toContain(cohort.discharge.patient.nationalId);
    expect(xml).toContain('24 av 24');
    await store.close();
  });

  it('is a 503 naming the store while the prescription is not accepted, and a 409 once retention erased it', async () => {
    const store = await storeWith(inputsOf(cohort).slice(1));
    const id = await withDischarge(store);
    await expect(message(store, id)).rejects.toMatchObject({
      status: 503,
      detail: expect.stringContaining("Not yet in hit-bridge's store") as unknown,
    });
    const rx = await accept(store, 'prescriptions', cohort.prescription, new Date(ACCEPTED_FROM));
    const jobs = await store.claim('ehr-delivery', 'unit', {
      now: new Date(ACCEPTED_FROM),
      leaseMs: 60_000,
      limit: 100,
    });
    const job = jobs.find((j) => j.submissionId === rx.id);
    if (job === undefined) throw new Error('no delivery job for the prescription');
    await store.complete(job, { status: 'delivered' }, new Date(ACCEPTED_FROM));
    await store.erasePersonalData(
      { deliveredBefore: new Date(ACCEPTED_FROM + 1), failedBefore: new Date(0), limit: 10 },
      new Date(ACCEPTED_FROM + 1),
    );
    const refused = await message(store, id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Problem);
    expect(refused).toMatchObject({
      status: 409,
      detail: expect.stringContaining('retention erased the content of the prescription') as unknown,
    });
    await store.close();
  });
});
