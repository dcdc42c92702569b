/**
 * The e-message a stored discharge's handover sends its Frisklivssentral (GET
 * /v1/discharges/{id}/handover-message, `hit-bridge handover render --discharge <id>`): gathered
 * and built exactly as the handover worker does, so what an operator validates with xmllint is
 * what the receiver gets. It holds personal data (the patient's national id and health data),
 * hence the admin scope and the audit entry every /v1 call leaves.
 */
import type { DischargeInput } from '../../mappings/inputs.ts';
import { conflict, notFound, Problem } from '../platform/problem.ts';
import type { Store } from '../store/store.ts';
import { buildFrisklivssentralMessage } from './edi/frisklivssentral-message.ts';
import type { SenderIdentity } from './edi/sender-identity.ts';
import type { FactsSource } from './facts-source.ts';
import { recipientOf } from './job-outcomes.ts';
import { frisklivssentralInput } from './packets.ts';
import type { RecipientDirectory } from './recipient-directory.ts';
import type { HandoverFacts } from './types.ts';

export interface StoredMessageDeps {
  readonly store: Store;
  /** Where the worker reads the facts (the EHR, or the store under dips-arena); undefined without an EHR. */
  readonly facts: FactsSource | undefined;
  readonly directory: RecipientDirectory;
  readonly hospitalContact: HandoverFacts['hospitalContact'] | undefined;
  readonly sender: SenderIdentity | undefined;
  readonly clock: () => Date;
}

const unavailable = (detail: string): Problem =>
  new Problem({
    type: 'https://hit-bridge.no/problems/handover-message-unavailable',
    title: 'The handover message cannot be made now',
    status: 503,
    detail,
    retriable: true,
  });

/** The MsgHead XML; throws a Problem (404, 409, 503) saying why there is none. */
export async function storedHandoverMessage(deps: StoredMessageDeps, submissionId: string): Promise<string> {
  const submission = await deps.store.getSubmission(submissionId);
  if (submission?.kind !== 'discharges') throw notFound(`There is no discharge ${submissionId}.`);
  if (submission.body === null) {
    throw conflict(
      `Discharge ${submissionId}: retention has erased its personal data; its message cannot be made again.`,
    );
  }
  const discharge = submission.body as DischargeInput;
  if (!discharge.consent.frisklivssentral) {
    throw conflict(`Discharge ${submissionId}: the patient did not consent to a handover to the Frisklivssentral.`);
  }
  if (deps.sender === undefined) throw unavailable('The HOSPITAL_* sender keys are not set: no e-message is made.');
  if (deps.facts === undefined) throw unavailable('EHR_BASE_URL is not set: the facts cannot be gathered.');
  const frisklivssentral = recipientOf(deps.directory, discharge);
  if (frisklivssentral === undefined) {
    throw conflict(`Discharge ${submissionId}: the recipient directory has no Frisklivssentral for it.`);
  }
  const gathered = await deps.facts.gather({
    discharge,
    frisklivssentral,
    hospitalContact: deps.hospitalContact,
    generatedAt: deps.clock().toISOString(),
  });
  if (gathered.kind === 'not-yet') throw unavailable(`Not yet in ${deps.facts.origin}: ${gathered.reason}.`);
  if (gathered.kind === 'unavailable') throw conflict(`Discharge ${submissionId}: ${gathered.reason}.`);
  if (gathered.kind === 'failed') {
    throw unavailable(
      `Searching the EHR failed (${String(gathered.failure.httpStatus ?? 'no answer')}): ${gathered.failure.message}`,
    );
  }
  return (await buildFrisklivssentralMessage(frisklivssentralInput(gathered.facts), deps.sender)).xml;
}
