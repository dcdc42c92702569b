/**
 * The closed loop in the EHR (docs/reference/terminology.md §7, the HL7 Physical Activity IG
 * pattern): a continuation ServiceRequest — SNOMED 390893007 "Referral to physical activity
 * program(me)", based on the exercise prescription, performed by the Frisklivssentral — and a
 * Task to fulfil it (status requested, intent order, code fulfill, focus the ServiceRequest,
 * owner the Frisklivssentral as an Organization by HER-id). Both are conditional creates on
 * business identifiers made of the discharge, so a handover run twice creates nothing twice.
 *
 * The Frisklivssentral is referenced logically (by HER-id, no `reference`): the EHR need not hold
 * an Organization for every Frisklivssentral in the country, and hit-bridge never invents one.
 * Pure: no clock, no I/O; times come from the discharge and the acknowledgement.
 */
import type { Bundle, Reference, ServiceRequest, Task } from 'fhir/r4.js';
import {
  businessIdentifier,
  createOnce,
  escapeXml,
  formatDateTimeNo,
  narrative,
  patientReference,
  transactionBundle,
} from '../../mappings/common.ts';
import type { DischargeInput } from '../../mappings/inputs.ts';
import { IDENTIFIER_SYSTEMS, profileUrl, SNOMED } from '../../mappings/terminology.ts';
import type { HandoverAckStatus } from '../store/store.ts';
import type { FrisklivssentralEntry } from './types.ts';

const REFERRAL_PROFILES = {
  serviceRequest: profileUrl('hit-handover-referral'),
  task: profileUrl('hit-referral-task'),
} as const;

/** FHIR R4 core CodeSystem task-code: "fulfill" (the IG's PATaskForReferralManagement fixes it). */
const TASK_FULFILL = {
  system: 'http://hl7.org/fhir/CodeSystem/task-code',
  code: 'fulfill',
  display: 'Fulfill the focal request',
};

export function referralIdentifiers(source: string, dischargeId: string) {
  return {
    serviceRequest: businessIdentifier(source, 'discharge', dischargeId, 'referral'),
    task: businessIdentifier(source, 'discharge', dischargeId, 'referral-task'),
  };
}

function frisklivssentralReference(entry: FrisklivssentralEntry): Reference {
  return {
    type: 'Organization',
    identifier: { system: IDENTIFIER_SYSTEMS.herId, value: entry.herId },
    display: entry.name,
  };
}

export interface ReferralInput {
  readonly discharge: DischargeInput;
  readonly frisklivssentral: FrisklivssentralEntry;
  /** The prescription as the EHR holds it (its id and its requester, resolved by the EHR). */
  readonly prescription: ServiceRequest;
}

/** The transaction Bundle: the referral ServiceRequest and its Task, each created once. */
export function buildReferralBundle(input: ReferralInput): Bundle {
  const { discharge, frisklivssentral, prescription } = input;
  const ids = referralIdentifiers(discharge.source, discharge.dischargeId);
  const subject = patientReference(discharge.patient.nationalId);
  const owner = frisklivssentralReference(frisklivssentral);
  const requester = prescription.requester;
  const when = formatDateTimeNo(discharge.dischargedAt);

  const serviceRequest = createOnce<ServiceRequest & { identifier: NonNullable<ServiceRequest['identifier']> }>({
    resourceType: 'ServiceRequest',
    meta: { profile: [REFERRAL_PROFILES.serviceRequest] },
    text: narrative(
      `<p><b>Henvisning til ${escapeXml(frisklivssentral.name)}</b></p>` +
        `<p>Videreføring av treningsresepten i kommunen etter utskrivning ${escapeXml(when)}. ` +
        `Treningsplanen er sendt til frisklivssentralen.</p>`,
    ),
    identifier: [ids.serviceRequest],
    ...(prescription.id === undefined ? {} : { basedOn: [{ reference: `ServiceRequest/${prescription.id}` }] }),
    status: 'active',
    intent: 'order',
    code: { coding: [SNOMED.referralToPhysicalActivityProgram], text: 'Henvisning til frisklivssentral' },
    subject,
    authoredOn: discharge.dischargedAt,
    ...(requester === undefined ? {} : { requester }),
    performer: [owner],
  });

  const task = createOnce<Task & { identifier: NonNullable<Task['identifier']> }>({
    resourceType: 'Task',
    meta: { profile: [REFERRAL_PROFILES.task] },
    text: narrative(
      `<p><b>Oppfølging av henvisning</b>: ${escapeXml(frisklivssentral.name)} er bedt om å ta over ` +
        `treningen etter utskrivning ${escapeXml(when)}. Status: sendt (requested).</p>`,
    ),
    identifier: [ids.task],
    status: 'requested',
    intent: 'order',
    code: { coding: [TASK_FULFILL] },
    focus: { reference: serviceRequest.fullUrl ?? '', type: 'ServiceRequest' },
    for: subject,
    authoredOn: discharge.dischargedAt,
    lastModified: discharge.dischargedAt,
    ...(requester === undefined ? {} : { requester }),
    owner,
  });

  return transactionBundle(
    businessIdentifier(discharge.source, 'discharge', discharge.dischargeId, 'referral-transaction'),
    [serviceRequest, task],
  );
}

/**
 * What the referral Task can be set to after it is made: the municipality's answers, and
 * `received` from the receiving system's application receipt (it has the handover; nobody has
 * decided yet).
 */
export type TaskStatusUpdate = HandoverAckStatus | 'received';

const STATUS_WORDS: Readonly<Record<TaskStatusUpdate, string>> = {
  received: 'mottatt i Frisklivssentralens system',
  accepted: 'mottatt og akseptert',
  rejected: 'avvist',
  'in-progress': 'pågår',
  'on-hold': 'satt på vent',
  failed: 'kunne ikke gjennomføres',
  completed: 'fullført',
};

/** The Task as the receipt or the municipality's answer leaves it (the IG's pa-taskrm-1: a reason where required). */
export function updatedTask(
  task: Task,
  update: { readonly status: TaskStatusUpdate; readonly reason?: string; readonly at: string },
): Task {
  const rest: Task = { ...task };
  // A reason belongs to the status it was given for.
  delete rest.statusReason;
  const owner = task.owner?.display ?? 'Frisklivssentralen';
  return {
    ...rest,
    status: update.status,
    ...(update.reason === undefined ? {} : { statusReason: { text: update.reason } }),
    businessStatus: { text: STATUS_WORDS[update.status] },
    lastModified: update.at,
    text: narrative(
      `<p><b>Oppfølging av henvisning</b>: ${escapeXml(owner)} ${update.status === 'received' ? 'har fått henvisningen: ' : 'har svart: '}${escapeXml(STATUS_WORDS[update.status])}` +
        `${update.reason === undefined ? '' : ` (${escapeXml(update.reason)})`}, ${escapeXml(formatDateTimeNo(update.at))}.</p>`,
    ),
  };
}
