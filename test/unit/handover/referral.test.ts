// The referral loop in the EHR (src/handover/referral.ts): the transaction that creates the
// referral ServiceRequest and its Task once, and the Task as an acknowledgement leaves it. Pure:
// checked on its output, and through the in-memory EHR for "created once".
import type { ServiceRequest, Task } from 'fhir/r4.js';
import { searchToken } from '../../../mappings/common.ts';
import { IDENTIFIER_SYSTEMS } from '../../../mappings/terminology.ts';
import { buildReferralBundle, referralIdentifiers, updatedTask } from '../../../src/handover/referral.ts';
import { cohortInEhr, createFakeEhr } from '../../support/fake-ehr.ts';
import { FRISKLIVSSENTRAL, handoverCohort } from '../../support/handover-cohort.ts';

const cohort = handoverCohort('typical', 'clinic-unit');
const prescription: ServiceRequest = {
  resourceType: 'ServiceRequest',
  id: 'rx-17',
  status: 'active',
  intent: 'order',
  subject: { reference: 'Patient/ehr-patient-1' },
  requester: { reference: 'Practitioner/ehr-practitioner-1', display: 'Forskriver' },
};
const input = { discharge: cohort.discharge, frisklivssentral: FRISKLIVSSENTRAL, prescription };

function parts(bundle = buildReferralBundle(input)) {
  const [request, task] = bundle.entry ?? [];
  return {
    bundle,
    request,
    task,
    serviceRequest: request?.resource as ServiceRequest,
    taskResource: task?.resource as Task,
  };
}

describe('buildReferralBundle', () => {
  it('creates the referral ServiceRequest and its Task conditionally, each by its business identifier', () => {
    const { bundle, request, task } = parts();
    const ids = referralIdentifiers('clinic-unit', cohort.discharge.dischargeId);
    expect(bundle.type).toBe('transaction');
    expect(bundle.entry).toHaveLength(2);
    expect(request?.request).toEqual({
      method: 'POST',
      url: 'ServiceRequest',
      ifNoneExist: `identifier=${searchToken(ids.serviceRequest)}`,
    });
    expect(task?.request).toEqual({ method: 'POST', url: 'Task', ifNoneExist: `identifier=${searchToken(ids.task)}` });
    expect((request?.resource as ServiceRequest).identifier).toEqual([ids.serviceRequest]);
    expect((task?.resource as Task).identifier).toEqual([ids.task]);
  });

  it('asks the Frisklivssentral, by its HER-id, to fulfil a referral to a physical activity programme', () => {
    const { request, taskResource, serviceRequest } = parts();
    const owner = {
      type: 'Organization',
      identifier: { system: IDENTIFIER_SYSTEMS.herId, value: FRISKLIVSSENTRAL.herId },
      display: FRISKLIVSSENTRAL.name,
    };
    expect(taskResource).toMatchObject({
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      focus: { reference: request?.fullUrl, type: 'ServiceRequest' },
      owner,
      requester: prescription.requester,
      authoredOn: cohort.discharge.dischargedAt,
    });
    // Logical: the EHR need not hold an Organization for every Frisklivssentral.
    expect(taskResource.owner?.reference).toBeUndefined();
    expect(serviceRequest).toMatchObject({
      status: 'active',
      intent: 'order',
      code: { coding: [{ code: '390893007' }] },
      basedOn: [{ reference: 'ServiceRequest/rx-17' }],
      performer: [owner],
      requester: prescription.requester,
    });
    expect(serviceRequest.subject.reference).toMatch(/^Patient\?identifier=/);
    expect(taskResource.for).toEqual(serviceRequest.subject);
  });

  it('is the same Bundle for the same discharge, and another for another discharge', () => {
    expect(buildReferralBundle(input)).toEqual(buildReferralBundle(structuredClone(input)));
    const other = buildReferralBundle({ ...input, discharge: { ...cohort.discharge, dischargeId: 'D-other' } });
    expect(parts(other).taskResource.identifier).not.toEqual(parts().taskResource.identifier);
    expect(parts(other).request?.fullUrl).not.toBe(parts().request?.fullUrl);
  });

  it('creates the referral once in the EHR however often the handover sends it', async () => {
    const { patient } = cohortInEhr(cohort);
    const ehr = createFakeEhr([patient, prescription]);
    const first = await ehr.transaction(buildReferralBundle(input));
    const again = await ehr.transaction(buildReferralBundle(input));
    if (!first.ok || !again.ok) throw new Error('the fake EHR failed');
    expect(first.result.entries.map((e) => e.status)).toEqual(['201 Created', '201 Created']);
    expect(again.result.entries.map((e) => e.status)).toEqual(['200 OK', '200 OK']);
    expect(again.result.entries.map((e) => e.location)).toEqual(first.result.entries.map((e) => e.location));
    const ids = referralIdentifiers('clinic-unit', cohort.discharge.dischargeId);
    expect(ehr.withIdentifier('Task', ids.task)).toHaveLength(1);
    expect(ehr.withIdentifier('ServiceRequest', ids.serviceRequest)).toHaveLength(1);
    // The Task's focus is the ServiceRequest the EHR holds.
    const [task] = ehr.withIdentifier('Task', ids.task) as Task[];
    const [request] = ehr.withIdentifier('ServiceRequest', ids.serviceRequest);
    expect(task?.focus?.reference).toBe(`ServiceRequest/${request?.id ?? ''}`);
  });

  it('leaves out the requester when the prescription has none, rather than inventing one', () => {
    const { taskResource, serviceRequest } = parts(
      buildReferralBundle({ ...input, prescription: { ...prescription, requester: undefined } }),
    );
    expect('requester' in taskResource).toBe(false);
    expect('requester' in serviceRequest).toBe(false);
  });

  it("escapes the Frisklivssentral's name in the narratives", () => {
    const frisklivssentral = { ...FRISKLIVSSENTRAL, name: 'Frisklivs<sentralen> & Co' };
    const { taskResource, serviceRequest } = parts(buildReferralBundle({ ...input, frisklivssentral }));
    for (const div of [taskResource.text?.div, serviceRequest.text?.div]) {
      expect(div).toContain('Frisklivs&#60;sentralen&#62; &#38; Co');
      expect(div).not.toContain('<sentralen>');
    }
  });
});

describe('updatedTask', () => {
  const task: Task = {
    ...parts().taskResource,
    id: 'task-9',
    statusReason: { text: 'an earlier reason' },
  };

  it('sets the status, a Norwegian business status, the time and the reason given with it', () => {
    const updated = updatedTask(task, {
      status: 'on-hold',
      reason: 'Pasienten er syk',
      at: '2026-03-10T09:00:00+01:00',
    });
    expect(updated).toMatchObject({
      id: 'task-9',
      identifier: task.identifier,
      owner: task.owner,
      focus: task.focus,
      status: 'on-hold',
      statusReason: { text: 'Pasienten er syk' },
      businessStatus: { text: 'satt på vent' },
      lastModified: '2026-03-10T09:00:00+01:00',
    });
    expect(updated.text?.div).toContain('satt på vent');
    expect(updated.text?.div).toContain('Pasienten er syk');
  });

  it('drops a reason that belonged to an earlier status', () => {
    const updated = updatedTask(task, { status: 'accepted', at: '2026-03-10T09:00:00+01:00' });
    expect(updated.status).toBe('accepted');
    expect(updated.businessStatus?.text).toBe('mottatt og akseptert');
    expect('statusReason' in updated).toBe(false);
    // The Task given is not changed.
    expect(task.statusReason).toEqual({ text: 'an earlier reason' });
  });
});
