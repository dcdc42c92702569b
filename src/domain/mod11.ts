// Mod-11 weighted sums shared by the national id and the organisation number. Every weight used
// is 1–10, so none is a multiple of 11 (a prime): changing any single digit changes the sum by
// weight × difference, which is never 0 mod 11, so one-digit typos are always caught.

// Plain loops: every input's national id is checked on intake and again when it is mapped.
export function digitsOf(text: string): number[] {
  const digits: number[] = [];
  for (let i = 0; i < text.length; i += 1) digits.push(text.charCodeAt(i) - 48);
  return digits;
}

export function weightedRemainder(digits: readonly number[], weights: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i += 1) sum += (weights[i] ?? 0) * (digits[i] ?? 0);
  return sum % 11;
}

/**
 * The classic mod-11 check digit: 11 − remainder, where 11 becomes 0 and 10 means no check
 * digit exists for these digits (the number can never be valid). Returns undefined for that case.
 */
export function mod11CheckDigit(digits: readonly number[], weights: readonly number[]): number | undefined {
  const check = (11 - weightedRemainder(digits, weights)) % 11;
  return check === 10 ? undefined : check;
}
