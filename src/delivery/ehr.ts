/**
 * The Ehr port: what the delivery worker needs from the hospital EHR. One adapter talks FHIR R4
 * REST through fhir-kit-client (src/delivery/fhir-ehr.ts); auth is none, a static bearer token,
 * or (issue 7) SMART Backend Services.
 */
import type { Bundle, OperationOutcome } from 'fhir/r4.js';

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
}

export type TransactionOutcome =
  { readonly ok: true; readonly result: TransactionResult } | { readonly ok: false; readonly failure: EhrFailure };

export interface Ehr {
  /**
   * Posts a transaction Bundle to the base URL. Never throws for EHR or network failures: they are
   * outcomes. An abort through `signal` (shutdown) is a retriable failure too: the Bundle may or
   * may not have arrived, which is safe because its creates are conditional.
   */
  transaction(bundle: Bundle, signal?: AbortSignal): Promise<TransactionOutcome>;
  /** For /readyz (degraded, not unready, when down). */
  ping(signal?: AbortSignal): Promise<void>;
}
