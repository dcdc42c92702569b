import { checkDigitString, type DigitBounds } from './digit-string.ts';
import { ok, type Result } from './result.ts';

// HPR-nummer (Helsepersonellregisteret). UNCONFIRMED: no source documents either a
// check-digit rule nor a length for HPR numbers (docs/reference/terminology.md §3, §9 item 6), so only
// "a string of digits" is checked. A deployment that knows the length can pass bounds.

const HPR_NUMBER_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';

export type HprNumber = { readonly id: string; readonly identifierSystem: typeof HPR_NUMBER_SYSTEM };

export function parseHprNumber(input: string, bounds: DigitBounds = {}): Result<HprNumber> {
  const checked = checkDigitString(input, 'an HPR number', bounds);
  return checked.ok ? ok({ id: input, identifierSystem: HPR_NUMBER_SYSTEM }) : checked;
}
