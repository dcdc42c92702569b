/**
 * Attendance over the prescription: training sessions done (completed OBAB00 Procedures) against
 * those prescribed, in total, per week on average and week by week. Pure: no clock, no I/O.
 */
import type { Procedure } from 'fhir/r4.js';
import { osloCalendarDate } from '../../mappings/common.ts';
import { OBAB00 } from '../../mappings/terminology.ts';
import type { PrescriptionPlan } from './prescription-plan.ts';

export interface Attendance {
  /** Completed sessions within the prescription period. */
  readonly done: number;
  /** Sessions per week × weeks. */
  readonly prescribed: number;
  readonly weeks: number;
  readonly prescribedPerWeek: number;
  /** done / weeks, one decimal. */
  readonly donePerWeek: number;
  /** done / prescribed in whole percent. */
  readonly percent: number;
  /** Sessions done in week 1, 2, … of the prescription. */
  readonly byWeek: readonly number[];
  /** Completed sessions before the first or after the last day of the period: not counted above. */
  readonly outsidePeriod: number;
}

const DAY_MS = 86_400_000;

function isTrainingSession(procedure: Procedure): boolean {
  return procedure.status === 'completed' && (procedure.code?.coding ?? []).some((c) => c.code === OBAB00.code);
}

export function readAttendance(sessions: readonly Procedure[], plan: PrescriptionPlan): Attendance {
  // A search can return one session twice (paging, or a resource and its copy): count identifiers.
  const seen = new Set<string>();
  const byWeek = Array.from({ length: plan.weeks }, () => 0);
  let outsidePeriod = 0;
  const startMs = Date.parse(`${plan.start}T00:00:00Z`);
  for (const session of sessions) {
    if (!isTrainingSession(session)) continue;
    const key = session.identifier?.[0]?.value ?? session.id ?? JSON.stringify(session.performedPeriod);
    if (seen.has(key)) continue;
    seen.add(key);
    const at = session.performedPeriod?.start ?? session.performedDateTime;
    if (at === undefined) continue;
    // The day the session took place in Norway, whatever offset the clinic sent.
    const day = osloCalendarDate(at);
    const week = Math.floor((Date.parse(`${day}T00:00:00Z`) - startMs) / (7 * DAY_MS));
    if (day < plan.start || day > plan.end || week >= plan.weeks) {
      outsidePeriod += 1;
      continue;
    }
    byWeek[week] = (byWeek[week] ?? 0) + 1;
  }
  const done = byWeek.reduce((sum, n) => sum + n, 0);
  const prescribed = plan.sessionsPerWeek * plan.weeks;
  return {
    done,
    prescribed,
    weeks: plan.weeks,
    prescribedPerWeek: plan.sessionsPerWeek,
    donePerWeek: Math.round((done / plan.weeks) * 10) / 10,
    percent: prescribed === 0 ? 0 : Math.round((100 * done) / prescribed),
    byWeek,
    outsidePeriod,
  };
}
