import type { Procedure } from 'fhir/r4.js';
import { readAttendance } from '../../../src/handover/attendance.ts';
import { readPrescriptionPlan, type PrescriptionPlan } from '../../../src/handover/prescription-plan.ts';
import { factsFor } from '../../support/ehr-view.ts';
import { handoverCohort, type CohortVariant } from '../../support/handover-cohort.ts';

function factsAndPlan(variant: CohortVariant): { sessions: readonly Procedure[]; plan: PrescriptionPlan } {
  const facts = factsFor(handoverCohort(variant));
  const reading = readPrescriptionPlan(facts.prescription);
  if (!reading.ok) throw new Error(reading.reason);
  return { sessions: facts.sessions, plan: reading.value };
}

const typical = factsAndPlan('typical');

describe('readAttendance', () => {
  it('typical stay: 24 of 24 sessions over 8 weeks, 3.0 a week, 3 every week', () => {
    expect(readAttendance(typical.sessions, typical.plan)).toEqual({
      done: 24,
      prescribed: 24,
      weeks: 8,
      prescribedPerWeek: 3,
      donePerWeek: 3,
      percent: 100,
      byWeek: [3, 3, 3, 3, 3, 3, 3, 3],
      outsidePeriod: 0,
    });
  });

  it('three sessions missed (in weeks 2, 4 and 6): 21 of 24, 21 / 8 = 2.6 a week, 87.5 → 88 %', () => {
    const { sessions, plan } = factsAndPlan('no-contact-details');
    expect(readAttendance(sessions, plan)).toMatchObject({
      done: 21,
      prescribed: 24,
      donePerWeek: 2.6,
      percent: 88,
      byWeek: [3, 2, 3, 2, 3, 2, 3, 3],
    });
  });

  it('twice a week for 6 weeks with one missed: 11 of 12, 11 / 6 = 1.8 a week', () => {
    const { sessions, plan } = factsAndPlan('interval-only-estimated-hrmax');
    expect(readAttendance(sessions, plan)).toMatchObject({ done: 11, prescribed: 12, donePerWeek: 1.8, percent: 92 });
  });

  it('counts a session the search returned twice once', () => {
    const [first] = typical.sessions;
    if (first === undefined) throw new Error('no sessions');
    expect(readAttendance([...typical.sessions, first], typical.plan).done).toBe(24);
  });

  it('counts only completed training sessions, and those outside the period apart', () => {
    const [first] = typical.sessions;
    if (first === undefined) throw new Error('no sessions');
    const stopped: Procedure = { ...first, identifier: [{ value: 'x-1' }], status: 'stopped' };
    const after: Procedure = {
      ...first,
      identifier: [{ value: 'x-2' }],
      // 2 March 2026 00:30 in Norway is the day after the period's last day (1 March).
      performedPeriod: { start: '2026-03-01T23:30:00Z' },
    };
    const result = readAttendance([...typical.sessions, stopped, after], typical.plan);
    expect(result.done).toBe(24);
    expect(result.outsidePeriod).toBe(1);
  });

  it('places a session by its day in Norway: Sunday 23:30 UTC in winter is Monday, the next week', () => {
    const [first] = typical.sessions;
    if (first === undefined) throw new Error('no sessions');
    // Sunday 11 January 2026 23:30 UTC = Monday 12 January 00:30 in Norway: week 2.
    const late: Procedure = {
      ...first,
      identifier: [{ value: 'x-3' }],
      performedPeriod: { start: '2026-01-11T23:30:00Z' },
    };
    expect(readAttendance([late], typical.plan).byWeek).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
  });
});
