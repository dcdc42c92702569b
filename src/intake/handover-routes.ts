/**
 * POST /v1/discharges: validated, stored with its discharge.requested event in ONE transaction
 * (the event is the submission's first outbox job), answered 202 — from then on the handover
 * worker owns it. Sending again is safe exactly as for the other inputs (same dischargeId +
 * source + content, or the same Idempotency-Key: the same submission).
 *
 * POST /v1/handover-acknowledgements: the municipality's answer, recorded on the discharge's
 * timeline with a job that sets the referral Task in the EHR to the new status.
 *
 * GET /v1/discharges/{id}/handover-message: the MsgHead the handover sends (or sent) the
 * Frisklivssentral, for an operator to check with xmllint.
 *
 * What the handover itself does (recording an answer, knowing the recipients) is passed in by the
 * composition root: intake does not import the handover.
 */
import { Router } from 'express';
import type { DischargeInput, HandoverAcknowledgementInput } from '../../mappings/inputs.ts';
import type { EventValidator } from '../events/event-validator.ts';
import type { PatientKeyer } from '../events/patient-key.ts';
import { buildDischargeRequestedEvent, handoverOutgoing } from '../events/discharge-requested.ts';
import { badRequest, conflict, invalidInput, type FieldError } from '../platform/problem.ts';
import { timeOrderedUuid } from '../platform/uuid.ts';
import type { Metrics } from '../platform/metrics.ts';
import type { Store } from '../store/store.ts';
import { jsonBody } from './json-body.ts';
import { onlyMethod } from './methods.ts';
import { hashOf, IDEMPOTENCY_KEY } from './submissions.ts';
import type { InputValidator } from '../contracts/input-validator.ts';

/** What intake asks the recipient directory: whether it knows a HER-id or a municipality. */
interface KnownRecipients {
  byHerId(herId: string): unknown;
  byMunicipality(municipality: string): unknown;
}

export interface HandoverRouteDeps {
  readonly validator: InputValidator;
  readonly store: Store;
  readonly patientKey: PatientKeyer;
  readonly eventValidator: EventValidator;
  readonly bodyLimitBytes: number;
  readonly clock: () => Date;
  /** When given, a discharge to a municipality (or HER-id) it does not know is refused at once. */
  readonly directory?: KnownRecipients;
  /** Records the municipality's answer and queues the Task update (src/handover/acknowledgements.ts). */
  readonly acknowledge: (ack: HandoverAcknowledgementInput, now: Date) => Promise<void>;
  /** Whether a hospital contact is configured for discharges that give none. */
  readonly hospitalContactConfigured: boolean;
  readonly metrics: Pick<Metrics, 'submissionAccepted'>;
  /** The e-message a stored discharge sends its Frisklivssentral, as XML; throws a Problem when there is none. */
  readonly handoverMessage: (submissionId: string) => Promise<string>;
}

export function handoverRoutes(deps: HandoverRouteDeps): Router {
  const router = Router();
  const body = jsonBody(deps.bodyLimitBytes);

  router.post('/v1/discharges', ...body, async (req, res) => {
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw badRequest('Idempotency-Key must be 1–255 visible ASCII characters (a UUID is a good choice).');
    }
    const input = deps.validator.validate('discharges', req.body);
    const problems = recipientProblems(input, deps);
    if (problems.length > 0) throw invalidInput(problems);

    const now = deps.clock();
    const id = timeOrderedUuid(now);
    const patientKey = deps.patientKey(input.patient.nationalId);
    const event = buildDischargeRequestedEvent(
      { submissionId: id, source: input.source, dischargeId: input.dischargeId, patientKey },
      input,
      now,
    );
    deps.eventValidator.assertValidEvent(event);
    const outcome = await deps.store.accept(
      {
        id,
        kind: 'discharges',
        source: input.source,
        inputId: input.dischargeId,
        idempotencyKey,
        bodyHash: hashOf(input),
        body: input,
        patientKey,
        acceptedAt: now,
      },
      { queue: 'event-publish', payload: handoverOutgoing(event, patientKey), runAt: now },
    );
    if (outcome.outcome === 'conflict') {
      throw conflict(
        outcome.reason === 'idempotency-key'
          ? 'This Idempotency-Key was already used for a request with other content; use a new key for a new request.'
          : `This dischargeId from this source was already submitted with other content ` +
              `(submission ${outcome.existing.id}); send corrections under a new dischargeId.`,
      );
    }
    if (outcome.outcome === 'created') deps.metrics.submissionAccepted('discharges');
    const statusUrl = `/v1/submissions/${outcome.submission.id}`;
    res
      .status(outcome.outcome === 'created' ? 202 : 200)
      .location(statusUrl)
      .json({ id: outcome.submission.id, status: outcome.submission.status, statusUrl });
  });
  router.all('/v1/discharges', onlyMethod('POST'));

  router.post('/v1/handover-acknowledgements', ...body, async (req, res) => {
    const ack = deps.validator.validate('handover-acknowledgements', req.body);
    await deps.acknowledge(ack, deps.clock());
    const statusUrl = `/v1/submissions/${ack.handoverId}`;
    res.status(202).location(statusUrl).json({ id: ack.handoverId, status: ack.status, statusUrl });
  });
  router.all('/v1/handover-acknowledgements', onlyMethod('POST'));

  // Personal data (national id, health data): admin scope (scopes.ts), audited like every /v1 call.
  router.get('/v1/discharges/:id/handover-message', async (req, res) => {
    const xml = await deps.handoverMessage(req.params.id);
    res.type('application/xml; charset=utf-8').send(xml);
  });
  router.all('/v1/discharges/:id/handover-message', onlyMethod('GET'));

  return router;
}

/** What the recipient directory and the configuration must be able to answer for this discharge. */
function recipientProblems(input: DischargeInput, deps: HandoverRouteDeps): FieldError[] {
  const problems: FieldError[] = [];
  const herId = input.recipients.frisklivssentral?.herId;
  if (deps.directory !== undefined) {
    if (herId !== undefined && deps.directory.byHerId(herId) === undefined) {
      problems.push({
        field: '/recipients/frisklivssentral/herId',
        rule: 'known-recipient',
        message: 'is not a Frisklivssentral in the recipient directory',
      });
    }
    if (herId === undefined && deps.directory.byMunicipality(input.municipality) === undefined) {
      problems.push({
        field: '/municipality',
        rule: 'known-recipient',
        message:
          'has no Frisklivssentral in the recipient directory; name one with recipients.frisklivssentral.herId, or ask for the directory to be extended',
      });
    }
  }
  if (input.hospitalContact === undefined && !deps.hospitalContactConfigured) {
    problems.push({
      field: '/hospitalContact',
      rule: 'required-without-fallback',
      message: 'is required: no hospital contact is configured for discharges that give none',
    });
  }
  return problems;
}
