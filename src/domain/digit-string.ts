import { invalid, ok, type Result } from './result.ts';

// For identifiers whose only documented format is "digits" (HPR-nummer, HER-id).

export type DigitBounds = { readonly minDigits?: number; readonly maxDigits?: number };

export function checkDigitString(input: string, what: string, bounds: DigitBounds = {}): Result<string> {
  if (!/^\d+$/.test(input)) return invalid(`${what} must be digits only, with no spaces or other characters`);
  const { minDigits = 1, maxDigits } = bounds;
  if (input.length < minDigits) return invalid(`${what} must have at least ${minDigits} digits`);
  if (maxDigits !== undefined && input.length > maxDigits) {
    return invalid(`${what} must have at most ${maxDigits} digits`);
  }
  return ok(input);
}
