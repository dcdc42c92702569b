/**
 * The Ehr port: what the delivery worker needs from the hospital EHR. One adapter talks FHIR R4
 * REST through fhir-kit-client (src/delivery/fhir-ehr.ts); auth is none, a static bearer token,
 * or SMART Backend Services.
 */
import type { Bundle, FhirResource, OperationOutcome } from 'fhir/r4.js';

export interface EhrEntryResult {
  /** e.g. "201 Created" or "200 OK" (already there: the create was conditional). */
  readonly status: string;
  /** e.g. "Procedure/123/_history/1". */
  readonly location: string | undefined;
}

export interface TransactionResult {
  readonly httpStatus: number;
  readonly entries: readonly EhrEntryResult[];
}

/**
 * Why a call to the EHR failed, in the terms the worker decides on: a transient failure is
 * retried (with the EHR's Retry-After if it sent one), a permanent one fails the submission with
 * the EHR's own words.
 */
export interface EhrFailure {
  readonly retriable: boolean;
  /** Undefined when no HTTP answer came (connection refused, timeout, breaker open). */
  readonly httpStatus: number | undefined;
  /** Plain text: the OperationOutcome's diagnostics/details, or the network error (national ids masked). */
  readonly message: string;
  readonly operationOutcome: OperationOutcome | undefined;
  /**
   * From Retry-After (seconds or HTTP-date), when the EHR sent one; when the circuit breaker is
   * open, the rest of its cool-down. The worker waits at least this long.
   */
  readonly retryAfterMs: number | undefined;
  /** 'token': no request reached the EHR because no access token could be had. */
  readonly stage?: 'token';
}

export type Outcome<T> =
  { readonly ok: true; readonly result: T } | { readonly ok: false; readonly failure: EhrFailure };

export type TransactionOutcome = Outcome<TransactionResult>;

/** Search parameters as FHIR REST takes them; a list repeats the parameter (date=ge…&date=le…). */
export type SearchParams = Readonly<Record<string, string | readonly string[]>>;

export interface CreateResult {
  readonly httpStatus: number;
  /** The server's id for the resource (created, or found by If-None-Exist), when it said. */
  readonly id: string | undefined;
}

export interface Ehr {
  /**
   * Posts a transaction Bundle to the base URL. Never throws for EHR or network failures: they are
   * outcomes. An abort through `signal` (shutdown) is a retriable failure too: the Bundle may or
   * may not have arrived, which is safe because its creates are conditional.
   */
  transaction(bundle: Bundle, signal?: AbortSignal): Promise<TransactionOutcome>;
  /**
   * Every match of a type-level search, following the server's next links; the same failures as
   * a transaction (never throws for EHR or network failures).
   */
  search(resourceType: string, params: SearchParams, signal?: AbortSignal): Promise<Outcome<FhirResource[]>>;
  /** POST one resource, created only if nothing matches `ifNoneExist` (e.g. "identifier=sys|value"). */
  create(resource: FhirResource, ifNoneExist?: string, signal?: AbortSignal): Promise<Outcome<CreateResult>>;
  /** For /readyz (degraded, not unready, when down). */
  ping(signal?: AbortSignal): Promise<void>;
}
