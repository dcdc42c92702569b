/**
 * The EdiMessageService adapter: NHN's message service, EDI 2.0 API version 2
 * (third_party/nhn-edi-openapi/msh-api-v2.json), over fetch, with HelseID tokens bound with DPoP
 * (the outbound-auth port: nonces and token refresh are handled there).
 *
 * How its answers become the one failure shape (EhrFailure):
 *
 * | answer                                   | retriable | why                                                            |
 * | ---------------------------------------- | --------- | -------------------------------------------------------------- |
 * | 201/200                                  | —         | sent / read                                                    |
 * | no answer, timeout, 5xx, 408, 423, 429   | yes       | the service or the path is down or busy; Retry-After honoured  |
 * | 401 (after the port's one fresh token)   | yes       | HelseID or the token may recover; the horizon ends it          |
 * | no token could be had                    | yes       | stage 'token', as for the EHR                                  |
 * | 400, 403, 404, other 4xx                 | no        | NHN's ErrorMessage in words: the message can never go this way |
 */
import type { FhirAuth } from './fhir-auth.ts';
import { describe, fetchWithFhirAuth } from './fhir-auth.ts';
import type { EdiAppRecError, EdiMessageService, EdiReceiverState } from './edi-message-service.ts';
import type { EhrFailure, Outcome } from './ehr.ts';
import { parseRetryAfter } from './fhir-ehr.ts';
import { redactNationalIds } from '../platform/redaction.ts';

export interface EdiClientSettings {
  /** e.g. https://api.tjener.test.melding.nhn.no (no trailing slash needed). */
  readonly baseUrl: string;
  /** `nhn-source-system`: this system's name and version, e.g. "hit-bridge, v0.1.0". */
  readonly sourceSystem: string;
  readonly auth: FhirAuth;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** The API version this adapter speaks (the `api-version` header). */
const EDI_API_VERSION = '2';

const RETRIABLE = new Set([401, 408, 423, 429]);

export function createEdiClient(settings: EdiClientSettings): EdiMessageService {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const now = settings.now ?? Date.now;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Outcome<unknown>> {
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let answered;
    try {
      answered = await fetchWithFhirAuth(
        settings.auth,
        `${base}${path}`,
        {
          method,
          headers: {
            accept: 'application/json',
            'api-version': EDI_API_VERSION,
            'nhn-source-system': settings.sourceSystem,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: combined,
        },
        settings.fetch,
      );
    } catch (error) {
      return failed(true, undefined, `${timeout.aborted ? 'no answer in time' : 'no answer'}: ${describe(error)}`);
    }
    if (!answered.ok) {
      return {
        ok: false,
        failure: {
          retriable: true,
          httpStatus: undefined,
          stage: 'token',
          message: answered.failure.message,
          operationOutcome: undefined,
          retryAfterMs: undefined,
        },
      };
    }
    const response = answered.result;
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // A POST whose answer broke off may have been taken: sending again is safe (the same MsgId).
      return failed(true, response.status, `the answer broke off: ${describe(error)}`);
    }
    if (response.ok) {
      try {
        return { ok: true, result: text === '' ? undefined : (JSON.parse(text) as unknown) };
      } catch {
        return failed(true, response.status, 'the message service answered with something that is not JSON');
      }
    }
    const retriable = response.status >= 500 || RETRIABLE.has(response.status);
    return failed(
      retriable,
      response.status,
      errorMessageText(text),
      parseRetryAfter(response.headers.get('retry-after'), now()),
    );
  }

  return {
    async send(request, signal) {
      const answered = await call(
        'POST',
        '/Messages',
        {
          businessDocument: Buffer.from(request.businessDocument, 'utf8').toString('base64'),
          contentType: 'application/xml',
          contentTransferEncoding: 'base64',
          ...(request.receiverHerIds === undefined ? {} : { receiverHerIdsSubset: [...request.receiverHerIds] }),
        },
        signal,
      );
      if (!answered.ok) return answered;
      if (typeof answered.result !== 'string' || answered.result === '') {
        return failed(true, 201, 'the message service did not answer with the message id');
      }
      return { ok: true, result: { messageId: answered.result } };
    },

    async receipts(messageId, signal) {
      const id = encodeURIComponent(messageId);
      const status = await call('GET', `/Messages/${id}/status`, undefined, signal);
      if (!status.ok) return status;
      const states = Array.isArray(status.result) ? (status.result as StatusInfo[]) : [];
      const anyReceipt = states.some((s) => s.appRecStatus !== null && s.appRecStatus !== undefined);
      let errors = new Map<number, readonly EdiAppRecError[]>();
      if (anyReceipt) {
        const apprec = await call('GET', `/Messages/${id}/apprec`, undefined, signal);
        if (!apprec.ok) return apprec;
        const infos = Array.isArray(apprec.result) ? (apprec.result as ApprecInfo[]) : [];
        errors = new Map(infos.map((info) => [info.receiverHerId, (info.appRecErrorList ?? []).map(appRecError)]));
      }
      return {
        ok: true,
        result: states.map((s): EdiReceiverState => ({
          receiverHerId: s.receiverHerId,
          transport: s.transportDeliveryState,
          appRec:
            s.appRecStatus === null || s.appRecStatus === undefined
              ? undefined
              : { status: s.appRecStatus, errors: errors.get(s.receiverHerId) ?? [] },
        })),
      };
    },
  };
}

/** StatusInfo and ApprecInfo as the OpenAPI shapes them (the fields read here). */
interface StatusInfo {
  readonly receiverHerId: number;
  readonly transportDeliveryState: EdiReceiverState['transport'];
  readonly appRecStatus?: 'Ok' | 'Rejected' | 'OkErrorInMessagePart' | null;
}

interface ApprecInfo {
  readonly receiverHerId: number;
  readonly appRecErrorList?:
    readonly { errorCode?: string | null; details?: string | null; description?: string | null }[] | null;
}

function appRecError(error: NonNullable<ApprecInfo['appRecErrorList']>[number]): EdiAppRecError {
  return {
    code: error.errorCode ?? '(no code)',
    details: error.details ?? '',
    ...(error.description === null || error.description === undefined ? {} : { description: error.description }),
  };
}

/** NHN's ErrorMessage (error, errorCode, validationErrors) in one line; the receiver's words may quote a patient. */
function errorMessageText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; errorCode?: unknown; validationErrors?: unknown };
    const parts = [
      typeof body.errorCode === 'number' ? `errorCode ${String(body.errorCode)}` : undefined,
      typeof body.error === 'string' ? body.error : undefined,
      ...(Array.isArray(body.validationErrors) ? body.validationErrors.filter((v) => typeof v === 'string') : []),
    ].filter((part): part is string => part !== undefined && part !== '');
    if (parts.length > 0) return redactNationalIds(parts.join(': '));
  } catch {
    // Not an ErrorMessage: its text (cut short) is all there is.
  }
  return redactNationalIds(text.slice(0, 300) || 'no explanation');
}

function failed(
  retriable: boolean,
  httpStatus: number | undefined,
  message: string,
  retryAfterMs?: number,
): { readonly ok: false; readonly failure: EhrFailure } {
  return { ok: false, failure: { retriable, httpStatus, message, operationOutcome: undefined, retryAfterMs } };
}
