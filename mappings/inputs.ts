/**
 * What clinic systems send. These names are the contract (contracts/schemas/): extend, don't rename.
 * The JSON Schemas in contracts/schemas/ say the same in JSON Schema, with the limits; ajv
 * checks every input against them before a mapping ever sees it, so a mapping may trust the
 * shapes and ranges here.
 */

/** Ids sent by the clinic: `source` names the sending system, the input id is unique within it. */
type SourceSystem = string;

export interface PatientRef {
  /** Fødselsnummer, D-nummer or synthetic test id (11 digits, valid check digits). */
  readonly nationalId: string;
}

export interface PractitionerRef {
  /** HPR-nummer of the health professional. */
  readonly hprNumber: string;
}

export type HrMaxMethod = 'measured' | 'estimated';

export interface HrMaxInput {
  readonly bpm: number;
  readonly method: HrMaxMethod;
}

export type Modality = 'treadmill' | 'cycle' | 'rowing' | 'outdoor-uphill' | 'strength';

export interface IntervalInput {
  readonly durationSeconds: number;
  readonly meanHr?: number;
  readonly peakHr?: number;
  /** Seconds at 85–95 % of HRmax as the monitor counted them; mean and peak cannot tell it. */
  readonly secondsInZone?: number;
  readonly speedKmh?: number;
  readonly inclinePercent?: number;
}

export interface ActivePauseInput {
  readonly durationSeconds: number;
  readonly meanHr?: number;
}

export interface StrengthSetInput {
  readonly exercise: string;
  readonly sets: number;
  readonly reps: number;
  readonly loadKg: number;
  readonly oneRepMaxKg?: number;
}

export interface HitSessionInput {
  readonly sessionId: string;
  readonly source: SourceSystem;
  readonly patient: PatientRef;
  readonly performer: PractitionerRef;
  /** ISO 8601 date-time with offset. */
  readonly startedAt: string;
  readonly endedAt: string;
  readonly modality: Modality;
  readonly protocol: '4x4' | 'custom';
  /** Optional: else estimated from the patient's age on the session date. */
  readonly hrMax?: HrMaxInput;
  readonly warmUpMinutes?: number;
  readonly intervals?: readonly IntervalInput[];
  readonly activePauses?: readonly ActivePauseInput[];
  readonly coolDownMinutes?: number;
  /** Borg RPE 6–20 for the session as a whole. */
  readonly borgRpe?: number;
  readonly strengthSets?: readonly StrengthSetInput[];
  /** The prescription this session carries out (its prescriptionId from the same source). */
  readonly prescriptionId?: string;
  readonly note?: string;
  /**
   * The DIPS care episode (omsorgsepisode) the record belongs to, as DIPS numbers it. Required
   * when the EHR profile is dips-arena (DIPS records every procedure on one); ignored otherwise.
   */
  readonly episodeId?: string;
}

export type FitnessTestKind = 'treadmill-max' | 'treadmill-submax' | 'six-minute' | 'one-rep-max';

export interface FitnessTestInput {
  readonly testId: string;
  readonly source: SourceSystem;
  readonly patient: PatientRef;
  readonly performer: PractitionerRef;
  readonly performedAt: string;
  readonly kind: FitnessTestKind;
  /** mL/kg/min. For treadmill-submax without it, estimated by the Ebbeling single-stage equation. */
  readonly vo2max?: { readonly value: number; readonly method: HrMaxMethod };
  readonly hrMax?: HrMaxInput;
  readonly submax?: {
    readonly durationMinutes: number;
    readonly speedKmh: number;
    readonly inclinePercent: number;
    readonly steadyStateHr: number;
  };
  readonly sixMinuteDistanceMeters?: number;
  readonly oneRepMax?: readonly { readonly exercise: string; readonly kg: number }[];
  readonly note?: string;
  /**
   * The DIPS care episode (omsorgsepisode) the record belongs to, as DIPS numbers it. Required
   * when the EHR profile is dips-arena (DIPS records every procedure on one); ignored otherwise.
   */
  readonly episodeId?: string;
}

export interface IntervalComponentInput {
  readonly kind: 'interval';
  readonly protocol: '4x4';
  readonly sessionsPerWeek: number;
  readonly modality: Modality;
  readonly inclinePercentMin?: number;
}

export interface StrengthComponentInput {
  readonly kind: 'strength';
  readonly sessionsPerWeek: number;
  readonly sets: number;
  readonly reps: number;
  /** [low, high] percent of 1RM, e.g. [85, 90]. */
  readonly intensityPercent1RM: readonly [number, number];
  readonly exercises: readonly string[];
}

export type PrescriptionComponentInput = IntervalComponentInput | StrengthComponentInput;

export interface GoalInput {
  readonly description: string;
  readonly measure: 'vo2max' | 'one-rep-max' | 'attendance';
  /** In the measure's unit: mL/kg/min, kg, or sessions per week. */
  readonly target: number;
}

export interface PrescriptionInput {
  readonly prescriptionId: string;
  readonly source: SourceSystem;
  readonly patient: PatientRef;
  readonly prescriber: PractitionerRef;
  /** ISO 8601 date-time. */
  readonly issuedAt: string;
  /** ISO 8601 date (YYYY-MM-DD). */
  readonly start: string;
  readonly weeks: number;
  readonly hrMax?: HrMaxInput;
  readonly components: readonly PrescriptionComponentInput[];
  readonly goals?: readonly GoalInput[];
  readonly note?: string;
  /**
   * The DIPS care episode (omsorgsepisode) the record belongs to, as DIPS numbers it. Required
   * when the EHR profile is dips-arena (DIPS records every procedure on one); ignored otherwise.
   */
  readonly episodeId?: string;
}

/** A person the municipality can call; for the training contact only with the patient's consent. */
export interface ContactPoint {
  readonly name: string;
  /** Norwegian phone number as written, e.g. "+47 900 00 000". */
  readonly phone?: string;
  readonly email?: string;
}

/** The patient's own contact details, passed on only where the patient consented. */
interface DischargePatient extends PatientRef {
  readonly givenName: string;
  readonly phone?: string;
  readonly email?: string;
}

export interface DischargeInput {
  readonly dischargeId: string;
  readonly source: SourceSystem;
  readonly patient: DischargePatient;
  /** ISO 8601 date-time with offset. */
  readonly dischargedAt: string;
  /** The prescription (its prescriptionId from the same source) the municipality carries on. */
  readonly prescriptionId: string;
  /** Kommunenummer (4 digits) of the patient's municipality. */
  readonly municipality: string;
  readonly recipients: {
    /** Optional: else the recipient directory's Frisklivssentral for the municipality. */
    readonly frisklivssentral?: { readonly herId: string };
    readonly trainingContact?: ContactPoint;
  };
  readonly consent: { readonly frisklivssentral: boolean; readonly trainingContact: boolean };
  /** Free text for the Frisklivssentral (health personnel); never given to the training contact. */
  readonly summary: string;
  /** Who at the hospital the municipality may call; else the directory's hospital contact. */
  readonly hospitalContact?: ContactPoint;
}

/** What the municipality may set on the referral Task (docs/reference/terminology.md §7). */
type HandoverAckStatusInput = 'accepted' | 'rejected' | 'in-progress' | 'on-hold' | 'failed' | 'completed';

/** The municipality's answer to a handover (HTTP or the handover status topic). */
export interface HandoverAcknowledgementInput {
  /** The discharge's submission id, as the packet event gave it. */
  readonly handoverId: string;
  readonly status: HandoverAckStatusInput;
  /** Required for rejected, on-hold and failed. */
  readonly reason?: string;
  /** ISO 8601 date-time; default: when received. */
  readonly at?: string;
  readonly by?: string;
}
