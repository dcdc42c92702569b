/**
 * Where the handover reads its facts: one port, two adapters, chosen by EHR_PROFILE in the
 * composition root (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md).
 *
 * - the EHR (gather-facts.ts), under `generic`: the EHR is the record, and what it holds is what
 *   the municipality gets;
 * - hit-bridge's store (store-facts.ts), under `dips-arena`: DIPS holds only the session
 *   Procedures, without their link to the prescription, and no prescription or fitness test at
 *   all, so the accepted inputs are read back and run through the same generic mappings.
 *
 * Both answer the same HandoverFacts for the same inputs, by the same rules below (which
 * sessions and tests belong to the stay, who the hospital contact is).
 */
import type { ServiceRequest } from 'fhir/r4.js';
import type { DischargeInput } from '../../mappings/inputs.ts';
import { FITNESS_TEST_PROFILES } from '../../mappings/fitness-test.ts';
import type { EhrFailure } from '../delivery/ehr.ts';
import type { TimelineEntry } from '../store/store.ts';
import type { FrisklivssentralEntry, HandoverFacts } from './types.ts';

export interface FactsSource {
  /** Where the facts come from, as the timeline says it: "the EHR", "hit-bridge's store". */
  readonly origin: string;
  gather(input: GatherInput, signal?: AbortSignal): Promise<Gathered>;
}

export type Gathered =
  | {
      readonly kind: 'facts';
      readonly facts: HandoverFacts;
      /** The patient as the source knows it: the EHR's Patient/id, or a reference by national id. */
      readonly patientReference: string;
      /** What the source has to say on the discharge's timeline about where the facts came from. */
      readonly timeline: readonly TimelineEntry[];
    }
  /** The source does not have what the handover needs yet: ask again later. */
  | { readonly kind: 'not-yet'; readonly reason: string }
  | { readonly kind: 'failed'; readonly failure: EhrFailure }
  /** What the handover needs is gone for good (e.g. erased by retention): no asking again brings it back. */
  | { readonly kind: 'unavailable'; readonly reason: string };

export interface GatherInput {
  readonly discharge: DischargeInput;
  readonly frisklivssentral: FrisklivssentralEntry;
  /** The configured fallback; absent, the discharge gave its own (intake made sure). */
  readonly hospitalContact: HandoverFacts['hospitalContact'] | undefined;
  readonly generatedAt: string;
}

/**
 * How far before the prescription's start a fitness test still counts as this stay's baseline:
 * the test the prescription was written from is usually taken days to weeks before. UNCONFIRMED
 * (no source gives a window; docs/reference/fitness.md §4: a fitness test every 3 months), hence generous.
 */
export const BASELINE_LOOKBACK_DAYS = 92;

/** A fitness test's results; not HRmax, whose profile the sessions share (their estimates are no test). */
export const FITNESS_RESULT_PROFILES: readonly string[] = [
  FITNESS_TEST_PROFILES.panel,
  FITNESS_TEST_PROFILES.vo2max,
  FITNESS_TEST_PROFILES.fitnessAge,
  FITNESS_TEST_PROFILES.oneRepMax,
  FITNESS_TEST_PROFILES.sixMinuteWalk,
];

/**
 * The stay's time window: sessions and tests up to the discharge; tests from BASELINE_LOOKBACK_DAYS
 * before the prescription's start (a date, YYYY-MM-DD), or with no lower bound when the
 * prescription gives no start.
 */
export function stayWindow(
  prescription: ServiceRequest,
  dischargedAt: string,
): { readonly from: string | undefined; readonly until: string } {
  const start = prescription.occurrenceTiming?.repeat?.boundsPeriod?.start ?? prescription.authoredOn;
  return {
    from: start === undefined ? undefined : addDays(start.slice(0, 10), -BASELINE_LOOKBACK_DAYS),
    until: dischargedAt,
  };
}

/** Names the hospital when only the discharge's own contact person is known. */
const DISCHARGING_HOSPITAL = 'Utskrivende sykehus';

export function hospitalContactFor(
  discharge: DischargeInput,
  fallback: HandoverFacts['hospitalContact'] | undefined,
): HandoverFacts['hospitalContact'] {
  if (discharge.hospitalContact !== undefined) {
    return { organisation: fallback?.organisation ?? DISCHARGING_HOSPITAL, ...discharge.hospitalContact };
  }
  if (fallback === undefined) throw new Error('a discharge without a hospital contact and none configured');
  return fallback;
}

function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}
