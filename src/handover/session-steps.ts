/**
 * One 4x4 session, step by step in plain Norwegian with this patient's heart-rate numbers: what
 * both packets show (the volunteer's and the Frisklivssentral's). Facts: docs/reference/fitness.md §4
 * via src/domain/four-by-four.ts (warm-up ~10 min, 4 × 4 min at 85–95 % of HRmax, 3 min
 * active pause at ~70 %, cool-down ~5 min; reach the zone within 1–2 min in the first interval,
 * ~1 min in the next; read the pulse in minute 3; 85–95 % HRmax ≈ Borg 16–18). Pure.
 */
import { FOUR_BY_FOUR, type FourByFourPlan, type PlanSegment } from '../domain/four-by-four.ts';

export interface SessionRow {
  readonly fromMinute: number;
  readonly toMinute: number;
  /** "1–10" */
  readonly minutes: string;
  readonly phase: PlanSegment['phase'];
  readonly what: string;
  /** "159–176", "ca. 130" or "–" */
  readonly pulse: string;
}

export function sessionRows(plan: FourByFourPlan): SessionRow[] {
  return plan.segments.map((segment) => {
    const fromMinute = segment.startsAtMin + 1;
    const toMinute = segment.startsAtMin + segment.durationMin;
    const target = segment.target;
    const pulse =
      target.kind === 'zone'
        ? `${target.lowBpm}–${target.highBpm}`
        : target.kind === 'about'
          ? `ca. ${target.bpm}`
          : '–';
    return {
      fromMinute,
      toMinute,
      minutes: fromMinute === toMinute ? `${fromMinute}` : `${fromMinute}–${toMinute}`,
      phase: segment.phase,
      what: stepText(segment),
      pulse,
    };
  });
}

function stepText(segment: PlanSegment): string {
  const minutes = `${segment.durationMin} min`;
  switch (segment.phase) {
    case 'warm-up':
      return `Oppvarming, ${minutes}: start rolig og øk tempoet litt etter litt.`;
    case 'interval': {
      const n = segment.intervalNumber ?? 1;
      // First interval: 1–2 minutes to reach the zone; the next ones about 1 minute.
      const reach =
        n === 1
          ? `Bruk 1–${FOUR_BY_FOUR.reachZoneWithinMin.firstInterval} minutter på å komme opp i pulssonen.`
          : `Kom opp i pulssonen i løpet av ca. ${FOUR_BY_FOUR.reachZoneWithinMin.laterIntervals} minutt.`;
      return (
        `Drag ${n} av ${FOUR_BY_FOUR.intervals}, ${minutes}: hardt (16–18 på Borgs skala). ${reach} ` +
        `Sjekk pulsen i ${FOUR_BY_FOUR.readHeartRateInIntervalMinute}. minutt.`
      );
    }
    case 'active-pause':
      return `Aktiv pause, ${minutes}: fortsett å bevege deg i rolig tempo.`;
    case 'cool-down':
      return `Nedtrapping, ${minutes}: rolig tempo til pusten har roet seg.`;
  }
}
