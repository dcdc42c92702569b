/**
 * The one error type. It carries an RFC 9457 problem detail, so whatever goes wrong — bad
 * input, a missing submission, a conflict, a bug — reaches the caller in the same shape, naming
 * the field and the rule broken. Workers read `retriable` to tell a transient failure from a
 * permanent one.
 */
export interface FieldError {
  /** JSON Pointer to the offending field, e.g. "/patient/nationalId" ("" for the whole body). */
  readonly field: string;
  /** The rule broken, as a short keyword, e.g. "required", "check-digits", "maximum". */
  readonly rule: string;
  /** The reason in plain words, for the person fixing the sending system. */
  readonly message: string;
}

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
}

const TYPE_BASE = 'https://hit-bridge.no/problems/';

export class Problem extends Error {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: readonly FieldError[] | undefined;
  readonly retriable: boolean;
  /** Response headers the status needs (WWW-Authenticate with 401, Retry-After with 429, Allow with 405). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    details: ProblemDetails & { retriable?: boolean; cause?: unknown; headers?: Readonly<Record<string, string>> },
  ) {
    super(details.detail ?? details.title, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'Problem';
    this.type = details.type;
    this.title = details.title;
    this.status = details.status;
    this.detail = details.detail;
    this.errors = details.errors;
    this.retriable = details.retriable ?? false;
    this.headers = details.headers ?? {};
  }

  toJSON(): ProblemDetails {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(this.errors === undefined ? {} : { errors: this.errors }),
    };
  }
}

export function badRequest(detail: string, errors?: readonly FieldError[]): Problem {
  return new Problem({
    type: `${TYPE_BASE}bad-request`,
    title: 'Bad request',
    status: 400,
    detail,
    ...(errors === undefined ? {} : { errors }),
  });
}

const UNREADABLE_TITLES = {
  400: 'Bad request',
  408: 'Request timeout',
  413: 'Payload too large',
  431: 'Request header fields too large',
} as const;

/** What Node's HTTP parser refused before any route saw the request (answered by the server's clientError listener). */
export function unreadableRequest(status: keyof typeof UNREADABLE_TITLES, detail: string): Problem {
  return new Problem({ type: `${TYPE_BASE}unreadable-request`, title: UNREADABLE_TITLES[status], status, detail });
}

export function invalidInput(errors: readonly FieldError[]): Problem {
  const detail =
    errors.length === 1
      ? `1 field breaks the rules: ${errors[0]?.field ?? ''}`
      : `${errors.length} fields break the rules`;
  return new Problem({
    type: `${TYPE_BASE}invalid-input`,
    title: 'The input is not valid',
    status: 422,
    detail,
    errors,
  });
}

export function notFound(detail: string): Problem {
  return new Problem({ type: `${TYPE_BASE}not-found`, title: 'Not found', status: 404, detail });
}

export function conflict(detail: string): Problem {
  return new Problem({ type: `${TYPE_BASE}conflict`, title: 'Conflict', status: 409, detail });
}

/** 405; `allow` is the Allow header the answer must carry (RFC 9110 §15.5.6). */
export function methodNotAllowed(detail: string, allow?: string): Problem {
  return new Problem({
    type: `${TYPE_BASE}method-not-allowed`,
    title: 'Method not allowed',
    status: 405,
    detail,
    ...(allow === undefined ? {} : { headers: { Allow: allow } }),
  });
}

export function unsupportedMediaType(detail: string): Problem {
  return new Problem({
    type: `${TYPE_BASE}unsupported-media-type`,
    title: 'Unsupported media type',
    status: 415,
    detail,
  });
}

export function payloadTooLarge(detail: string): Problem {
  return new Problem({ type: `${TYPE_BASE}payload-too-large`, title: 'Payload too large', status: 413, detail });
}

/** 401: no usable credentials. `challenge` is the WWW-Authenticate value (RFC 6750). */
export function unauthorized(detail: string, challenge: string): Problem {
  return new Problem({
    type: `${TYPE_BASE}unauthorized`,
    title: 'Unauthorized',
    status: 401,
    detail,
    headers: { 'WWW-Authenticate': challenge },
  });
}

/** 403: authenticated, but the token does not grant what the route needs. */
export function forbidden(detail: string, challenge: string): Problem {
  return new Problem({
    type: `${TYPE_BASE}forbidden`,
    title: 'Forbidden',
    status: 403,
    detail,
    headers: { 'WWW-Authenticate': challenge },
  });
}

export function tooManyRequests(detail: string, retryAfterSeconds: number): Problem {
  return new Problem({
    type: `${TYPE_BASE}too-many-requests`,
    title: 'Too many requests',
    status: 429,
    detail,
    retriable: true,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

export function unavailable(detail: string, retryAfterSeconds?: number): Problem {
  return new Problem({
    type: `${TYPE_BASE}unavailable`,
    title: 'Service unavailable',
    status: 503,
    detail,
    retriable: true,
    ...(retryAfterSeconds === undefined ? {} : { headers: { 'Retry-After': String(retryAfterSeconds) } }),
  });
}

/** Anything thrown becomes a Problem; what is not ours is an internal error whose detail is not leaked. */
export function normalize(error: unknown): Problem {
  if (error instanceof Problem) return error;
  return new Problem({
    type: `${TYPE_BASE}internal`,
    title: 'Internal error',
    status: 500,
    detail: 'Something went wrong on our side; the request id in the logs tells the operators where.',
    retriable: true,
    cause: error,
  });
}
