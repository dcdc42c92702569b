/**
 * The Ehr port over FHIR R4 REST, through fhir-kit-client. Every call goes through the client:
 * it sends with Node's fetch and, on an HTTP error, throws an error that still carries the
 * status, the parsed body and the response headers (so Retry-After is readable); on success the
 * raw Response rides along (Client.httpFor). Nothing here needs fetch directly.
 *
 * How an answer is classified (the worker retries `retriable` failures with backoff until the
 * horizon, and fails the submission at once on a permanent one):
 *
 * | answer                                   | outcome    | breaker  | why                                                             |
 * | ---------------------------------------- | ---------- | -------- | --------------------------------------------------------------- |
 * | 2xx transaction-response Bundle          | ok         | success  | per-entry response.status / location returned                   |
 * | 2xx with anything else                   | retriable  | neutral  | cannot know the ids; conditional creates make a retry safe      |
 * | network error, connection refused, timeout| retriable | failure  | the EHR is unreachable or too slow                              |
 * | 429, 503                                 | retriable  | overload | the EHR has more than it can take now; Retry-After honoured;    |
 * |                                          |            |          | one failure for all requests in flight together (ADR 0058)      |
 * | 408, 425, other 5xx (any other non-4xx)  | retriable  | failure  | the EHR says "not now"; Retry-After honoured                    |
 * | 401, 403                                 | retriable  | failure  | credentials/permissions: an operator fixes them, then every     |
 * |                                          |            |          | waiting Bundle goes through; failing them all would lose work,  |
 * |                                          |            |          | and the breaker keeps us from hammering with a bad token        |
 * | 409                                      | retriable  | neutral  | HAPI: two conditional creates of one identifier raced (seen:    |
 * |                                          |            |          | HAPI-0550/HAPI-2745 "conditional constraint failure"), or a     |
 * |                                          |            |          | version conflict; the retry finds the winner and answers 200.   |
 * |                                          |            |          | About this Bundle, not the EHR's health                         |
 * | 412                                      | permanent  | neutral  | HAPI-0958: a conditional create matched several resources;     |
 * |                                          |            |          | only a person merging them fixes it (then `replay`)             |
 * | other 4xx (400, 404, 405, 410, 413, 422…)| permanent  | neutral  | this Bundle is wrong for this EHR; retrying sends the same.     |
 * |                                          |            |          | HAPI answers 404 HAPI-1091 for a conditional reference that     |
 * |                                          |            |          | matches no Patient (fixed by creating it, then `replay`)        |
 * | circuit open                             | retriable  | —        | no request sent; retryAfterMs = the rest of the cool-down       |
 * | aborted by the caller (shutdown)         | retriable  | neutral  | not the EHR's doing; the Bundle may or may not have arrived     |
 *
 * The failure message is the OperationOutcome's text (issue details and diagnostics) when the
 * EHR sent one, else the HTTP status or network error. Anything that could be a national id (a
 * conditional reference, e.g. `Patient?identifier=…|<fødselsnummer>`, which HAPI echoes in its
 * diagnostics) is removed from the message and the returned OperationOutcome by the one scrubber
 * (platform/redaction.ts): both end up in the status timeline, the failure event and the logs,
 * where a national id must never appear.
 */
import { STATUS_CODES } from '../platform/node-http.ts';
import { Client } from 'fhir-kit-client';
import type { Bundle, BundleEntry, FhirResource, OperationOutcome, OperationOutcomeIssue } from 'fhir/r4.js';
import type { Logger } from '../platform/logger.ts';
import { redactNationalIds, scrubDeep } from '../platform/redaction.ts';
import { secondsSince, type EhrOutcome, type Metrics } from '../platform/metrics.ts';
import { currentTraceCarrier, inSpan, SpanKind, SpanStatusCode, type TraceCarrier } from '../platform/tracing.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { withFhirAuth, type AuthFailure, type FhirAuth, type RequestSigner, type ServerAnswer } from './fhir-auth.ts';
import type { Ehr, EhrEntryResult, EhrFailure, Outcome, TransactionResult } from './ehr.ts';

export interface FhirEhrOptions {
  /** FHIR R4 base URL, e.g. http://ehr.example/fhir. */
  readonly baseUrl: string;
  /** none, static bearer, SMART Backend Services or HelseID with DPoP (src/delivery/fhir-auth.ts). */
  readonly auth: FhirAuth;
  /** One request (transaction or ping), headers and body, must be done within this. */
  readonly timeoutMs: number;
  /** Shared by every caller in this process. */
  readonly breaker: CircuitBreaker;
  readonly logger: Logger;
  /** Request latency by outcome, breaker state, circuit rejections. */
  readonly metrics: Pick<Metrics, 'ehrRequest' | 'ehrCircuitRejected' | 'readCircuitStateFrom'>;
  /** Milliseconds since the epoch, for the breaker and HTTP-date Retry-After. Tests inject one. */
  readonly now?: () => number;
}

/** Statuses that say "try again later" rather than "this Bundle is wrong". */
const RETRIABLE_4XX = new Set([401, 403, 408, 409, 425, 429]);
/** Of those, the ones about this Bundle, not about the EHR's health: the breaker ignores them. */
const BREAKER_NEUTRAL = new Set([409]);

/** "More than I can take now": to the breaker, one verdict on all the requests in flight together. */
const OVERLOAD = new Set([429, 503]);

type BreakerVerdict = 'success' | 'failure' | 'overload' | 'neutral';

export type StatusClass = 'ok' | 'retriable' | 'permanent';

export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 400 && status < 500) return RETRIABLE_4XX.has(status) ? 'retriable' : 'permanent';
  // 5xx, and anything unexpected (a redirect fetch could not follow, 1xx): never lose a Bundle over it.
  return 'retriable';
}

/**
 * Retry-After as milliseconds from `nowMs`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * A date in the past is 0; anything unreadable is undefined.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The OperationOutcome's issues as one line: details text and diagnostics, errors first. */
export function operationOutcomeText(outcome: OperationOutcome): string {
  const issues = outcome.issue;
  const serious = issues.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  const texts = (serious.length > 0 ? serious : issues).map(issueText).filter((text) => text !== '');
  return [...new Set(texts)].join('; ');
}

function issueText(issue: OperationOutcomeIssue): string {
  const parts = [issue.details?.text, issue.diagnostics].filter(
    (part): part is string => typeof part === 'string' && part.trim() !== '',
  );
  if (parts.length === 2 && parts[0] === parts[1]) parts.pop();
  if (parts.length === 0 && issue.details?.coding?.[0]?.display) parts.push(issue.details.coding[0].display);
  return parts.join(': ');
}

/** The EHR's OperationOutcome with national ids removed from every text in it. */
function maskOperationOutcome(outcome: OperationOutcome): OperationOutcome {
  return scrubDeep(outcome, redactNationalIds);
}

/** What fhir-kit-client throws for an HTTP error (or a body that is not JSON). */
interface ClientHttpError {
  readonly response: { readonly status: number; readonly data: unknown };
  readonly config?: { readonly headers?: unknown };
}

function isClientHttpError(error: unknown): error is ClientHttpError {
  if (typeof error !== 'object' || error === null || !('response' in error)) return false;
  const { response } = error;
  return (
    typeof response === 'object' && response !== null && typeof (response as { status?: unknown }).status === 'number'
  );
}

function isOperationOutcome(value: unknown): value is OperationOutcome {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { resourceType?: unknown }).resourceType === 'OperationOutcome' &&
    Array.isArray((value as { issue?: unknown }).issue)
  );
}

function isTransactionResponse(value: unknown): value is Bundle {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { resourceType?: unknown }).resourceType === 'Bundle' &&
    (value as { type?: unknown }).type === 'transaction-response'
  );
}

function headerOf(headers: unknown, name: string): string | null {
  const get = (headers as { get?: unknown } | undefined)?.get;
  return typeof get === 'function' ? ((get as (key: string) => string | null).call(headers, name) ?? null) : null;
}

/**
 * The error and description of a WWW-Authenticate challenge (RFC 6750 §3, RFC 9449 §7.1), e.g.
 * `invalid_dpop_proof: the proof is for URL …`; undefined when it names no error.
 */
export function challengeText(header: string | null): string | undefined {
  if (header === null) return undefined;
  const error = /\berror="([^"]*)"/.exec(header)?.[1];
  if (error === undefined) return undefined;
  const description = /\berror_description="([^"]*)"/.exec(header)?.[1];
  return description === undefined ? error : `${error}: ${description}`;
}

function statusLine(status: number): string {
  const phrase = STATUS_CODES[status];
  return phrase ? `${status} ${phrase}` : String(status);
}

/*
 * Errors are read by shape, not instanceof: fetch's errors may come from another realm (undici
 * inside Node, a test runner's sandbox), where instanceof TypeError is false.
 */
interface ErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly code?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

const asErrorLike = (value: unknown): ErrorLike | undefined =>
  typeof value === 'object' && value !== null ? value : undefined;

/** The network error in words: fetch's TypeError("fetch failed") hides the reason in its cause. */
function networkErrorText(error: unknown): string {
  const described = (value: unknown): string | undefined => {
    const like = asErrorLike(value);
    if (!like) return undefined;
    if (typeof like.message === 'string' && like.message !== '') return like.message;
    if (typeof like.code === 'string') return like.code;
    // Happy eyeballs (localhost → ::1 and 127.0.0.1) fails with an AggregateError without a message.
    return Array.isArray(like.errors) ? described(like.errors[0]) : undefined;
  };
  return described(asErrorLike(error)?.cause) ?? described(error) ?? String(error);
}

function isNetworkError(error: unknown): boolean {
  const like = asErrorLike(error);
  return like?.name === 'TypeError' && like.message === 'fetch failed';
}

const FHIR_JSON = 'application/fhir+json';

/** What the EHR answered, for the outbound-auth port: a DPoP nonce or challenge rides on any answer. */
function answerOf(result: { ok: true; value: unknown } | { ok: false; error: unknown }): ServerAnswer | undefined {
  if (!result.ok) {
    if (!isClientHttpError(result.error)) return undefined;
    const headers = result.error.config?.headers;
    return { status: result.error.response.status, headers: { get: (name) => headerOf(headers, name) } };
  }
  if (typeof result.value !== 'object' || result.value === null) return undefined;
  const response = Client.httpFor(result.value as Parameters<typeof Client.httpFor>[0]).response;
  return response ? { status: response.status, headers: response.headers } : undefined;
}

/** One kind of request to the EHR, as its client span names and describes it. */
interface RequestKind {
  /** e.g. `transaction`, `search Procedure`, `create Task`: the span is `FHIR <operation>`. */
  readonly operation: string;
  readonly method: 'GET' | 'POST';
}

/** Matches per page asked for; a search that needs more than MAX_SEARCH_PAGES pages is refused, not truncated. */
const SEARCH_PAGE_SIZE = 200;
const MAX_SEARCH_PAGES = 20;

/** OTel's server.address/server.port of the EHR: the host without IPv6 brackets, the port the URL implies. */
function serverAttributes(baseUrl: string): { 'server.address': string; 'server.port': number } {
  const url = new URL(baseUrl);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { 'server.address': url.hostname.replace(/^\[(.*)\]$/, '$1'), 'server.port': port };
}

function searchset(response: unknown): Bundle | undefined {
  const bundle = response as { resourceType?: unknown; type?: unknown } | undefined;
  return bundle?.resourceType === 'Bundle' && bundle.type === 'searchset' ? (response as Bundle) : undefined;
}

export function createFhirEhr(options: FhirEhrOptions): Ehr {
  const { breaker, timeoutMs } = options;
  const now = options.now ?? Date.now;
  const logger = options.logger.child({ component: 'fhir-ehr' });
  const { metrics } = options;
  metrics.readCircuitStateFrom(() => breaker.state(now()));
  /**
   * A client for one attempt. Its requests carry the port's headers, made for their own method and
   * URL as the client builds it (a DPoP proof names both), and (tracing on) the W3C trace context
   * of the request's client span. A fresh client per attempt, because the signer is per attempt.
   */
  const signingClient = (sign: RequestSigner, trace: TraceCarrier): Client => {
    const signer = async (url: string, init: RequestInit): Promise<void> => {
      const signed = new Headers(init.headers);
      const authHeaders = await sign({ method: init.method ?? 'GET', url });
      for (const [name, value] of Object.entries({ ...trace, ...authHeaders })) signed.set(name, value);
      init.headers = signed;
    };
    // fhir-kit-client awaits the signer before it builds the Request; its declared type says void.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises
    return new Client({ baseUrl: options.baseUrl, requestSigner: signer });
  };
  const headers = { accept: FHIR_JSON, 'content-type': FHIR_JSON };
  const server = serverAttributes(options.baseUrl);

  /**
   * Runs a client call with authentication; an answer that a retry could turn (a token refused that
   * a fresh one could replace, a DPoP nonce demanded) is retried once per reason.
   */
  const authorized = (call: (client: Client) => Promise<unknown>, signal: AbortSignal, trace: TraceCarrier = {}) =>
    withFhirAuth(
      options.auth,
      (sign) =>
        call(signingClient(sign, trace)).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      answerOf,
      { signal },
    );
  const authFailure = (failure: AuthFailure): EhrFailure => ({
    retriable: true,
    httpStatus: undefined,
    stage: 'token',
    // HelseID's messages name HelseID; the SMART ones say "the authorization server", made the EHR's here.
    message: failure.message.replace(/^the authorization server /, "the EHR's authorization server "),
    operationOutcome: undefined,
    retryAfterMs: undefined,
  });

  /** Each request's signal: the timeout, and the caller's signal when there is one. */
  const signals = (signal: AbortSignal | undefined): { combined: AbortSignal; timeout: AbortSignal } => {
    const timeout = AbortSignal.timeout(timeoutMs);
    return { combined: signal ? AbortSignal.any([signal, timeout]) : timeout, timeout };
  };

  const fail = (failure: EhrFailure): { readonly ok: false; readonly failure: EhrFailure } => ({ ok: false, failure });

  /** What the answer to request number `request` (the breaker's count) says of the EHR's health. */
  const verdict = (kind: BreakerVerdict, request: number): void => {
    const at = now();
    const before = breaker.state(at);
    if (kind === 'success') breaker.onSuccess(at);
    else if (kind === 'failure') breaker.onFailure(at);
    else if (kind === 'overload') breaker.onOverload(at, request);
    else breaker.release(at);
    const after = breaker.state(at);
    if (after !== before) {
      const log = after === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
      log(
        { breaker: after, ...(after === 'open' ? { openForMs: breaker.remainingOpenMs(at) } : {}) },
        after === 'open' ? 'EHR circuit opened: no requests until the cool-down has passed' : `EHR circuit ${after}`,
      );
    }
  };

  function fromHttpError(error: ClientHttpError): {
    outcome: { readonly ok: false; readonly failure: EhrFailure };
    breaker: BreakerVerdict;
    metric: EhrOutcome;
  } {
    const { status, data } = error.response;
    const retryAfterMs = parseRetryAfter(headerOf(error.config?.headers, 'retry-after'), now());
    const operationOutcome = isOperationOutcome(data) ? maskOperationOutcome(data) : undefined;
    const outcomeText = operationOutcome ? operationOutcomeText(operationOutcome) : '';
    const cls = classifyStatus(status);
    const challenge = challengeText(headerOf(error.config?.headers, 'www-authenticate'));
    let message: string;
    if (cls === 'ok') {
      // fhir-kit-client throws on a 2xx only when the body is not JSON.
      message = `EHR answered ${statusLine(status)} with a body that is not FHIR JSON; the transaction's result is unknown`;
    } else if ((status === 401 || status === 403) && challenge !== undefined) {
      message = `EHR refused hit-bridge's credentials (${statusLine(status)}: ${challenge})`;
    } else if (outcomeText !== '') {
      message = outcomeText;
    } else {
      message = `EHR answered ${statusLine(status)}`;
    }
    return {
      outcome: fail({
        retriable: cls !== 'permanent',
        httpStatus: status,
        message: redactNationalIds(message),
        operationOutcome,
        retryAfterMs,
      }),
      breaker:
        cls !== 'retriable' || BREAKER_NEUTRAL.has(status) ? 'neutral' : OVERLOAD.has(status) ? 'overload' : 'failure',
      metric: cls === 'permanent' ? 'permanent' : 'retriable',
    };
  }

  /**
   * One request through the breaker's verdicts and the failure table above, and how it ended for
   * the latency histogram: `request` gets the combined signal and answers the parsed body;
   * `accept` turns a body into the result, or says it was not what the request expects (a
   * retriable unknown).
   */
  async function guarded<T>(
    what: string,
    requestNumber: number,
    signal: AbortSignal | undefined,
    request: (signal: AbortSignal, client: Client) => Promise<unknown>,
    accept: (response: unknown, httpStatus: number) => T | undefined,
  ): Promise<{ outcome: Outcome<T>; metric: EhrOutcome; httpStatus?: number }> {
    const { combined, timeout } = signals(signal);
    // The client span is active here (tracing on): the EHR gets its context and can continue the trace.
    const trace = currentTraceCarrier();
    try {
      const sent = await authorized((client) => request(combined, client), combined, trace);
      if (!sent.ok) {
        // Credentials an operator must fix: retried (nothing is lost), and the breaker keeps us from hammering.
        verdict('failure', requestNumber);
        return { metric: 'retriable', outcome: fail(authFailure(sent.failure)) };
      }
      if (!sent.result.ok) throw sent.result.error;
      const response: unknown = sent.result.value;
      const httpStatus = Client.httpFor(response as Parameters<typeof Client.httpFor>[0]).response?.status ?? 200;
      const value = accept(response, httpStatus);
      if (value === undefined) {
        verdict('neutral', requestNumber);
        return {
          metric: 'retriable',
          outcome: fail({
            retriable: true,
            httpStatus,
            message: `EHR answered ${statusLine(httpStatus)} but not with ${what}; the result is unknown`,
            operationOutcome: undefined,
            retryAfterMs: undefined,
          }),
        };
      }
      verdict('success', requestNumber);
      return { metric: 'success', httpStatus, outcome: { ok: true, result: value } };
    } catch (error) {
      if (isClientHttpError(error)) {
        const { outcome, breaker: kind, metric } = fromHttpError(error);
        verdict(kind, requestNumber);
        return { outcome, metric };
      }
      const base = { retriable: true, httpStatus: undefined, operationOutcome: undefined, retryAfterMs: undefined };
      if (signal?.aborted && !timeout.aborted) {
        verdict('neutral', requestNumber);
        return {
          metric: 'aborted',
          outcome: fail({
            ...base,
            message: 'aborted by the caller before the EHR answered; it may or may not have it',
          }),
        };
      }
      if (timeout.aborted) {
        verdict('failure', requestNumber);
        return {
          metric: 'timeout',
          outcome: fail({ ...base, message: `EHR did not answer within ${timeoutMs} ms (timeout)` }),
        };
      }
      if (isNetworkError(error)) {
        verdict('failure', requestNumber);
        return {
          metric: 'unreachable',
          outcome: fail({ ...base, message: `cannot reach the EHR: ${networkErrorText(error)}` }),
        };
      }
      // Not an answer and not the network: a fault on our side. Retried, and the breaker left alone.
      verdict('neutral', requestNumber);
      logger.error({ err: error }, 'EHR request failed unexpectedly');
      return {
        metric: 'error',
        outcome: fail({ ...base, message: `could not send to the EHR: ${networkErrorText(error)}` }),
      };
    }
  }

  /**
   * The breaker first (while it is open nothing is sent, and no span is made), then the request,
   * timed, in a CLIENT span. The span has the method, the server and the answer's status, never
   * the URL: a search's query names the patient (identifier=…|<national id>), and a next-page link
   * repeats it.
   */
  async function call<T>(
    kind: RequestKind,
    what: string,
    signal: AbortSignal | undefined,
    request: (signal: AbortSignal, client: Client) => Promise<unknown>,
    accept: (response: unknown, httpStatus: number) => T | undefined,
  ): Promise<Outcome<T>> {
    const at = now();
    if (!breaker.canPass(at)) {
      const remaining = breaker.remainingOpenMs(at);
      metrics.ehrCircuitRejected();
      return fail({
        retriable: true,
        httpStatus: undefined,
        message: 'EHR circuit open',
        operationOutcome: undefined,
        retryAfterMs: remaining > 0 ? remaining : undefined,
      });
    }
    const requestNumber = breaker.passed();
    return inSpan(
      `FHIR ${kind.operation}`,
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': kind.method, ...server } },
      async (span) => {
        const started = performance.now();
        const { outcome, metric, httpStatus } = await guarded(what, requestNumber, signal, request, accept);
        metrics.ehrRequest(metric, secondsSince(started));
        const status = outcome.ok ? httpStatus : outcome.failure.httpStatus;
        span?.setAttribute('hitbridge.ehr.outcome', metric);
        if (status !== undefined) span?.setAttribute('http.response.status_code', status);
        if (!outcome.ok) {
          const { retriable, retryAfterMs, message, stage } = outcome.failure;
          // The status code, or how it failed without one (token, timeout, unreachable…): never the
          // message, which quotes the EHR.
          span?.setAttribute('error.type', status !== undefined ? String(status) : (stage ?? metric));
          span?.setStatus({ code: SpanStatusCode.ERROR });
          logger.warn({ retriable, httpStatus: status, retryAfterMs, reason: message, what }, 'EHR request failed');
        }
        return outcome;
      },
    );
  }

  return {
    async transaction(bundle, signal) {
      const outcome = await call(
        { operation: 'transaction', method: 'POST' },
        'a transaction-response Bundle',
        signal,
        (combined, client) =>
          client.transaction({
            body: bundle as unknown as Parameters<Client['transaction']>[0]['body'],
            options: { headers, signal: combined },
          }),
        (response, httpStatus): TransactionResult | undefined =>
          isTransactionResponse(response)
            ? {
                httpStatus,
                entries: (response.entry ?? []).map((entry: BundleEntry): EhrEntryResult => ({
                  status: entry.response?.status ?? '',
                  location: entry.response?.location,
                })),
              }
            : undefined,
      );
      if (outcome.ok) {
        logger.debug(
          { httpStatus: outcome.result.httpStatus, entries: outcome.result.entries.length },
          'EHR transaction',
        );
      }
      return outcome;
    },

    async search(resourceType, params, signal) {
      const resources: FhirResource[] = [];
      const page = (request: (combined: AbortSignal, client: Client) => Promise<unknown>) =>
        call({ operation: `search ${resourceType}`, method: 'GET' }, 'a searchset Bundle', signal, request, searchset);
      let current = await page((combined, client) =>
        client.search({
          resourceType,
          searchParams: { _count: SEARCH_PAGE_SIZE, ...params },
          options: { headers: { accept: FHIR_JSON }, signal: combined },
        }),
      );
      for (let pages = 1; ; pages += 1) {
        if (!current.ok) return current;
        const bundle = current.result;
        resources.push(...(bundle.entry ?? []).flatMap((entry) => (entry.resource ? [entry.resource] : [])));
        if (!bundle.link?.some((link) => link.relation === 'next')) break;
        if (pages >= MAX_SEARCH_PAGES) {
          return fail({
            retriable: false,
            httpStatus: undefined,
            message: `the ${resourceType} search has more than ${MAX_SEARCH_PAGES * SEARCH_PAGE_SIZE} matches; narrow it`,
            operationOutcome: undefined,
            retryAfterMs: undefined,
          });
        }
        current = await page(
          (combined, client) =>
            client.nextPage({
              bundle: bundle as unknown as Parameters<Client['nextPage']>[0]['bundle'],
              options: { headers: { accept: FHIR_JSON }, signal: combined },
            }) ?? Promise.resolve(undefined),
        );
      }
      return { ok: true, result: resources };
    },

    async create(resource, ifNoneExist, signal) {
      return call(
        { operation: `create ${resource.resourceType}`, method: 'POST' },
        `a ${resource.resourceType}`,
        signal,
        (combined, client) =>
          client.create({
            resourceType: resource.resourceType,
            body: resource as unknown as Parameters<Client['create']>[0]['body'],
            options: {
              headers: {
                ...headers,
                ...(ifNoneExist === undefined ? {} : { 'if-none-exist': ifNoneExist }),
              },
              signal: combined,
            },
          }),
        (response, httpStatus) => {
          const created = response as { resourceType?: unknown; id?: unknown } | undefined;
          if (created?.resourceType !== resource.resourceType) {
            // A server answering 200/201 with an empty body (return=minimal) still took it.
            return httpStatus === 200 || httpStatus === 201 ? { httpStatus, id: undefined } : undefined;
          }
          return { httpStatus, id: typeof created.id === 'string' ? created.id : undefined };
        },
      );
    },

    async ping(signal) {
      const { combined, timeout } = signals(signal);
      try {
        const sent = await authorized(
          (client) => client.capabilityStatement({ headers: { accept: FHIR_JSON }, signal: combined }),
          combined,
        );
        if (!sent.ok) throw new Error(`no access token: ${sent.failure.message}`);
        if (!sent.result.ok) throw sent.result.error;
      } catch (error) {
        if (isClientHttpError(error)) {
          throw new Error(`GET metadata answered ${statusLine(error.response.status)}`, { cause: error });
        }
        if (timeout.aborted) throw new Error(`GET metadata: no answer within ${timeoutMs} ms`, { cause: error });
        if (signal?.aborted) throw signal.reason as Error;
        throw new Error(`GET metadata: ${networkErrorText(error)}`, { cause: error });
      }
    },
  };
}
