/**
 * Synthetic national ids (month + 80, valid check digits) for suites on shared peers, each call
 * a new patient with high probability, so searches by patient find only that suite's records.
 */
import { randomBytes } from 'node:crypto';
import { nationalIdCheckDigits } from '../../src/domain/national-id.ts';

/** Born 28 November of a random year of the 1900s; never registered in the EHR unless a test does so. */
export function unregisteredSyntheticId(): string {
  const [year = 0, high = 0, low = 0] = randomBytes(3);
  for (let individual = ((high << 8) | low) % 500; ; individual = (individual + 1) % 500) {
    const nine = `2891${String(year % 100).padStart(2, '0')}${String(individual).padStart(3, '0')}`;
    const check = nationalIdCheckDigits(nine);
    if (check !== undefined) return `${nine}${check}`;
  }
}

/** Born 15 March 1950–1989, the typical cohort's birthday (test/support/handover-cohort.ts). */
export function freshSyntheticId(): string {
  for (;;) {
    const [year = 0, high = 0, low = 0] = randomBytes(3);
    const nine = `1583${String(50 + (year % 40)).padStart(2, '0')}${String(((high << 8) | low) % 500).padStart(3, '0')}`;
    const check = nationalIdCheckDigits(nine);
    if (check !== undefined) return `${nine}${check}`;
  }
}
