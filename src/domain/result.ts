// The one result shape every domain rule returns. Invalid input is an expected outcome at a
// clinic's boundary, not an exception: callers turn `reason` into a problem+json detail, so it
// is written for a clinic integrator and never repeats the input (it may be a national id).

export type Ok<T> = { readonly ok: true; readonly value: T };
export type Invalid = { readonly ok: false; readonly reason: string };
export type Result<T> = Ok<T> | Invalid;

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

export function invalid(reason: string): Invalid {
  return { ok: false, reason };
}
