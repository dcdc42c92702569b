/**
 * The patient-records part of the Store contract (store.test.ts runs it against each adapter):
 * patientSubmissions() answers one patient's records of the asked kinds from a date on, oldest
 * first, bodies included — and an erased body as null with when it was erased, so the handover
 * can say what retention took instead of building from less.
 */
import { randomUUID } from 'node:crypto';
import type { SubmissionKind } from '../../src/kinds/kinds.ts';
import type { NewSubmission, Store } from '../../src/store/store.ts';
import type { StoreUnderTest } from './store.contract.ts';

const T0 = new Date('2026-03-02T08:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const at = (days: number): Date => new Date(T0.getTime() + days * DAY);
/** Pseudonymous keys as the service makes them: 43 base64url characters. */
const PATIENT = 'P'.repeat(43);
const OTHER_PATIENT = 'Q'.repeat(43);

export function describePatientRecordsContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`Store contract, patient records: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: Store;

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
      await store.migrate();
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    async function accepted(kind: SubmissionKind, acceptedAt: Date, patientKey = PATIENT, id = randomUUID()) {
      const inputId = `${kind}-${id}`;
      const submission: NewSubmission = {
        id,
        kind,
        source: 'clinic-a',
        inputId,
        bodyHash: id.replaceAll('-', '').padEnd(64, '0'),
        body: { inputId, note: 'Økt på tredemølle' },
        patientKey,
        acceptedAt,
      };
      const outcome = await store.accept(submission, { queue: 'ehr-delivery', payload: {}, runAt: acceptedAt });
      if (outcome.outcome !== 'created') throw new Error(`expected created, got ${outcome.outcome}`);
      return outcome.submission;
    }

    it("answers the patient's records of the asked kinds accepted from the date on, oldest first, with their bodies", async () => {
      const before = await accepted('hit-sessions', at(-1));
      const first = await accepted('fitness-tests', at(0));
      const second = await accepted('hit-sessions', at(2));
      const third = await accepted('hit-sessions', at(5));
      await accepted('prescriptions', at(3));
      await accepted('discharges', at(6));
      await accepted('hit-sessions', at(4), OTHER_PATIENT);

      const found = await store.patientSubmissions(PATIENT, ['hit-sessions', 'fitness-tests'], at(0));

      expect(found.map((s) => s.id)).toEqual([first.id, second.id, third.id]);
      expect(found.map((s) => s.id)).not.toContain(before.id);
      expect(found[1]).toEqual(second);
      expect(found[1]?.body).toEqual({ inputId: second.inputId, note: 'Økt på tredemølle' });
    });

    it('orders records accepted at the same instant by id, the same on every call', async () => {
      const ids = [randomUUID(), randomUUID(), randomUUID()].sort();
      for (const id of [...ids].reverse()) await accepted('hit-sessions', at(1), PATIENT, id);
      const found = await store.patientSubmissions(PATIENT, ['hit-sessions'], at(0));
      expect(found.map((s) => s.id)).toEqual(ids);
    });

    it('answers nothing for no kinds, another patient, or a date after every record', async () => {
      await accepted('hit-sessions', at(1));
      expect(await store.patientSubmissions(PATIENT, [], at(0))).toEqual([]);
      expect(await store.patientSubmissions('R'.repeat(43), ['hit-sessions'], at(0))).toEqual([]);
      expect(await store.patientSubmissions(PATIENT, ['hit-sessions'], at(2))).toEqual([]);
    });

    it('answers a record whose body retention erased with a null body and when it was erased', async () => {
      const kept = await accepted('hit-sessions', at(1));
      const erased = await accepted('hit-sessions', at(2));
      const job = (await store.claim('ehr-delivery', 'w', { now: at(2), leaseMs: 60_000, limit: 10 })).find(
        (j) => j.submissionId === erased.id,
      );
      if (job === undefined) throw new Error('no delivery job for the record');
      await store.complete(job, { status: 'delivered' }, at(2));
      expect(
        await store.erasePersonalData({ deliveredBefore: at(40), failedBefore: new Date(0), limit: 10 }, at(40)),
      ).toEqual([erased.id]);

      const found = await store.patientSubmissions(PATIENT, ['hit-sessions'], at(0));
      expect(found.map((s) => [s.id, s.body === null, s.bodyErasedAt])).toEqual([
        [kept.id, false, undefined],
        [erased.id, true, at(40)],
      ]);
    });
  });
}
