/**
 * The handover's shared shapes: what the recipient directory holds, what the handover worker
 * gathers from the EHR for one discharge, and what the pure packet builders return. The worker
 * (I/O) fills HandoverFacts by FHIR search; the builders (pure, no clock) turn them into packets.
 */
import type { Bundle, CarePlan, Observation, Procedure, ServiceRequest } from 'fhir/r4.js';
import type { ContactPoint, DischargeInput } from '../../mappings/inputs.ts';

/** One municipality's healthy-living centre, from the recipient directory file. */
export interface FrisklivssentralEntry {
  /** Kommunenummer, 4 digits. */
  readonly municipality: string;
  readonly name: string;
  /** HER-id in Adresseregisteret (urn:oid:2.16.578.1.12.4.1.2). */
  readonly herId: string;
  /** Organisasjonsnummer, 9 digits with a valid mod-11 check digit. */
  readonly organisationNumber: string;
  readonly phone: string;
  readonly email: string;
  /**
   * How the centre receives its packet besides the event stream (docs/adr/0020): `edi` (a
   * Dialogmelding over Norsk Helsenett to `herId`, the default), `fhir` (a document Bundle POSTed
   * to `fhirEndpoint`) or `kafka` (the event stream only).
   */
  readonly channel: ChannelName;
  /** FHIR R4 base URL where the centre receives document Bundles; set exactly when the channel is `fhir`. */
  readonly fhirEndpoint?: string;
}

export const CHANNEL_NAMES = ['edi', 'fhir', 'kafka'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

/** What the handover worker found in the EHR for this patient and prescription, by FHIR search. */
export interface HandoverFacts {
  readonly discharge: DischargeInput;
  readonly frisklivssentral: FrisklivssentralEntry;
  /** The hospital contact for the packets: the discharge's own, else the configured one. */
  readonly hospitalContact: ContactPoint & { readonly organisation: string };
  /** The exercise prescription (profile hit-exercise-prescription) the discharge names. */
  readonly prescription: ServiceRequest;
  readonly carePlan?: CarePlan;
  /** Fitness-test Observations over the stay (panels and their members), any order. */
  readonly observations: readonly Observation[];
  /** Training Procedures (OBAB00) done over the stay, any order. */
  readonly sessions: readonly Procedure[];
  /** ISO 8601 date-time the packets are made at (passed in: the builders read no clock). */
  readonly generatedAt: string;
}

/** The plan a volunteer can follow: plain Norwegian, no health data beyond bpm numbers. */
export interface TrainingContactPlan {
  readonly kind: 'training-contact-plan';
  readonly language: 'nb';
  /** Whom the plan is for (the discharge's named training contact). */
  readonly trainingContact: { readonly name: string };
  readonly patient: { readonly givenName: string; readonly phone?: string; readonly email?: string };
  readonly frisklivssentral: { readonly name: string; readonly phone: string; readonly email: string };
  readonly weeks: number;
  readonly interval?: {
    readonly sessionsPerWeek: number;
    /** Where, as the prescription says it: "på tredemølle". */
    readonly where: string;
    readonly inclinePercentMin?: number;
    readonly zoneBpm: { readonly low: number; readonly high: number };
    readonly pauseBpm: number;
    readonly totalMinutes: number;
    /** Minute by minute: what to do and at which pulse ("159–176", "ca. 130"; none in warm-up and cool-down). */
    readonly steps: readonly {
      readonly fromMinute: number;
      readonly toMinute: number;
      readonly what: string;
      readonly pulse?: string;
    }[];
  };
  readonly strength?: {
    readonly sessionsPerWeek: number;
    readonly sets: number;
    readonly reps: number;
    readonly exercises: readonly string[];
    readonly howHeavy: string;
  };
  readonly generatedAt: string;
}

export interface FrisklivssentralPacket {
  readonly recipient: 'frisklivssentral';
  /** A FHIR document Bundle whose first entry is the Composition "Treningsplan ved utskrivning". */
  readonly bundle: Bundle;
  /** Self-contained, print-ready HTML (inline CSS, inline SVG chart; no external resources). */
  readonly html: string;
}

export interface TrainingContactPacket {
  readonly recipient: 'training-contact';
  readonly plan: TrainingContactPlan;
  readonly html: string;
  /** The same plan as a PDF for the patient to carry; the worker adds it (rendering is asynchronous). */
  readonly pdf?: Uint8Array;
}

export type HandoverPacket = FrisklivssentralPacket | TrainingContactPacket;

/** Per recipient: a packet, or why there is none (no consent, no training contact named). */
export interface HandoverPackets {
  readonly frisklivssentral: FrisklivssentralPacket | { readonly omitted: 'no-consent' };
  readonly trainingContact: TrainingContactPacket | { readonly omitted: 'no-consent' | 'no-training-contact' };
}
