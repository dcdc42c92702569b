// Mod-11 weighted sums shared by the national id and the organisation number. Every weight used
// is 1–10, so none is a multiple of 11 (a prime): changing any single digit changes the sum by
// weight × difference, which is never 0 mod 11, so one-digit typos are always caught.

export function digitsOf(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0) - 48);
}

export function weightedRemainder(digits: readonly number[], weights: readonly number[]): number {
  let sum = 0;
  weights.forEach((weight, i) => {
    sum += weight * (digits[i] ?? 0);
  });
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
