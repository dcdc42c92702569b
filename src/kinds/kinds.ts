/**
 * The input kinds: one descriptor each, the only place a kind is listed. Every table keyed by
 * kind (validation, schemas, input ids, scopes, CloudEvents, the store's kinds, metrics, the
 * mappers) derives from this list or is typed total over it, so adding a kind here makes the
 * compiler point at every table that needs a line (README "How to add an input kind").
 * test/unit/kinds/kinds.test.ts fails when a kind is listed anywhere else in src/ or mappings/.
 *
 * A descriptor names its mapping (a pure function of mappings/) and composes its rules from the
 * small ones in src/contracts/input-rules.ts; neither imports this file back.
 */
import type { Bundle } from 'fhir/r4.js';
import type { MappingOptions } from '../../mappings/common.ts';
import { mapFitnessTest } from '../../mappings/fitness-test.ts';
import { mapHitSession } from '../../mappings/hit-session.ts';
import type {
  DischargeInput,
  FitnessTestInput,
  HandoverAcknowledgementInput,
  HitSessionInput,
  PrescriptionInput,
} from '../../mappings/inputs.ts';
import { mapPrescription } from '../../mappings/prescription.ts';
import {
  all,
  contactReachable,
  goalTargetRange,
  herIdRule,
  idsCarryNoNationalId,
  intensityLowNotAboveHigh,
  nationalIdRule,
  peakNotBelowMean,
  reasonForStatus,
  resultForKind,
  sessionTimes,
  timeInZoneWithinInterval,
  type Rule,
} from '../contracts/input-rules.ts';
import type { EventType } from '../events/cloud-events.ts';

/** A string field of the input that names another input kind's id (e.g. a session's prescriptionId). */
type StringField<I> = { [F in keyof I]-?: NonNullable<I[F]> extends string ? F : never }[keyof I] & string;

interface Descriptor<I> {
  /** The input's JSON Schema under contracts/schemas/. */
  readonly schemaFile: string;
  /** The OAuth scope POST /v1/<kind> needs. */
  readonly scope: 'hit.write' | 'handover.ack';
  /** What the schema cannot say (check digits, one field against another), run after it. */
  readonly rules: Rule;
  /**
   * Stored as a submission (with its outbox job and status URL), identified by source + this
   * field; absent for an input that only answers a submission (a handover acknowledgement).
   */
  readonly submission?: { readonly idField: StringField<I> };
  /**
   * Mapped by `map` to a transaction Bundle for the EHR (mappings/registry.ts shapes it for the
   * EHR's profile), announced with this event type; `occurredAt` is the input's own time of it.
   */
  readonly record?: {
    readonly eventType: EventType;
    readonly occurredAtField: StringField<I>;
    readonly map: (input: I, options: MappingOptions) => Bundle;
  };
  /** Delivered only once the EHR holds the input of another kind this field names. */
  readonly waitsFor?: { readonly kind: 'prescriptions'; readonly field: StringField<I> };
  /** Never read: carries the input type, so Inputs can be derived from the descriptors. */
  readonly input?: I;
}

/** A descriptor for input type I; the call fixes I, the object literal keeps its exact type. */
const kind =
  <I>() =>
  <const D extends Descriptor<I>>(descriptor: D): D & { readonly input?: I } =>
    descriptor;

export const KINDS = {
  'hit-sessions': kind<HitSessionInput>()({
    schemaFile: 'hit-session.schema.json',
    scope: 'hit.write',
    rules: all(
      nationalIdRule(['/startedAt']),
      idsCarryNoNationalId('/source', '/sessionId', '/prescriptionId'),
      sessionTimes,
      peakNotBelowMean,
      timeInZoneWithinInterval,
    ),
    submission: { idField: 'sessionId' },
    record: { eventType: 'no.hitbridge.session.recorded.v1', occurredAtField: 'startedAt', map: mapHitSession },
    waitsFor: { kind: 'prescriptions', field: 'prescriptionId' },
  }),
  'fitness-tests': kind<FitnessTestInput>()({
    schemaFile: 'fitness-test.schema.json',
    scope: 'hit.write',
    rules: all(nationalIdRule(['/performedAt']), idsCarryNoNationalId('/source', '/testId'), resultForKind),
    submission: { idField: 'testId' },
    record: {
      eventType: 'no.hitbridge.fitness-test.recorded.v1',
      occurredAtField: 'performedAt',
      map: mapFitnessTest,
    },
  }),
  prescriptions: kind<PrescriptionInput>()({
    schemaFile: 'prescription.schema.json',
    scope: 'hit.write',
    // The prescription mapping computes the age on the start date, which may precede the issue date.
    rules: all(
      nationalIdRule(['/issuedAt'], ['/start']),
      idsCarryNoNationalId('/source', '/prescriptionId'),
      intensityLowNotAboveHigh,
      goalTargetRange,
    ),
    submission: { idField: 'prescriptionId' },
    record: { eventType: 'no.hitbridge.prescription.issued.v1', occurredAtField: 'issuedAt', map: mapPrescription },
  }),
  discharges: kind<DischargeInput>()({
    schemaFile: 'discharge.schema.json',
    scope: 'hit.write',
    rules: all(
      nationalIdRule(['/dischargedAt']),
      idsCarryNoNationalId('/source', '/dischargeId', '/prescriptionId'),
      herIdRule,
      // A training contact may be known by name only (the Frisklivssentral puts them in touch).
      contactReachable('/hospitalContact'),
    ),
    submission: { idField: 'dischargeId' },
  }),
  'handover-acknowledgements': kind<HandoverAcknowledgementInput>()({
    schemaFile: 'handover-acknowledgement.schema.json',
    scope: 'handover.ack',
    rules: all(idsCarryNoNationalId('/reason', '/by'), reasonForStatus),
  }),
};

type Kinds = typeof KINDS;

/** Every input the API validates: POST /v1/<kind>. */
export type InputKind = keyof Kinds;

/** The input type of each kind. */
export type Inputs = { [K in InputKind]: NonNullable<Kinds[K]['input']> };

/** Kinds stored as submissions (with a status URL, delivered or handed over by a worker). */
export type SubmissionKind = { [K in InputKind]: Kinds[K] extends { submission: object } ? K : never }[InputKind];

/** Kinds that become a record in the EHR (a transaction Bundle) and a "recorded"/"issued" event. */
export type RecordKind = { [K in InputKind]: Kinds[K] extends { record: object } ? K : never }[InputKind];

const ALL = Object.keys(KINDS) as InputKind[];

export const INPUT_KINDS: readonly InputKind[] = ALL;
export const SUBMISSION_KINDS: readonly SubmissionKind[] = ALL.filter(
  (name): name is SubmissionKind => 'submission' in KINDS[name],
);
export const RECORD_KINDS: readonly RecordKind[] = ALL.filter((name): name is RecordKind => 'record' in KINDS[name]);

export function isSubmissionKind(name: string): name is SubmissionKind {
  return (SUBMISSION_KINDS as readonly string[]).includes(name);
}

export function isRecordKind(name: string): name is RecordKind {
  return (RECORD_KINDS as readonly string[]).includes(name);
}

/** The field of a submission kind's input that is its id in the sending system. */
export function idFieldOf(name: SubmissionKind): string {
  return KINDS[name].submission.idField;
}

/** The record's event type and the input's own time of it. */
export function recordOf(name: RecordKind): { readonly eventType: EventType; readonly occurredAtField: string } {
  return KINDS[name].record;
}

/** The kind's own rules, beyond its schema. */
export function rulesOf(name: InputKind): Rule {
  return KINDS[name].rules;
}

/** The generic mapping of a record kind's input (before any EHR profile shapes it). */
export function mappingOf<K extends RecordKind>(name: K): (input: Inputs[K], options: MappingOptions) => Bundle {
  return KINDS[name].record.map as (input: Inputs[K], options: MappingOptions) => Bundle;
}

/** What a kind waits for before delivery, if anything: another kind's input named by one of its fields. */
export function waitsForOf(name: InputKind): { readonly kind: SubmissionKind; readonly field: string } | undefined {
  const descriptor = KINDS[name];
  return 'waitsFor' in descriptor ? descriptor.waitsFor : undefined;
}
