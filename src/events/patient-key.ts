/**
 * The pseudonymous patient key: HMAC-SHA256 of the national id with a secret only hit-bridge
 * holds, base64url without padding (43 characters). It is the Kafka key of a patient's events
 * (so they stay in order on one partition) and links a patient's records, while nobody without
 * the secret can get from a key back to the person: national ids are few enough (about 10^9
 * plausible ones) that a plain hash could be reversed by trying them all.
 *
 * base64url rather than hex: hex keys often hold a run of 11 digits, which makes every
 * national-id scanner (and our own redaction of 11-digit runs) fire on harmless keys.
 *
 * Changing the secret changes every key: consumers would see a patient's new events under a
 * new key. Rotate only with a plan for that.
 */
import { createHmac, createSecretKey } from 'node:crypto';

/** Below this the secret could be guessed; 32 random bytes is what we configure. */
const MIN_SECRET_BYTES = 16;

export type PatientKeyer = (nationalId: string) => string;

/** A function from national id to key, with the secret checked once. */
export function createPatientKeyer(secret: string | Uint8Array): PatientKeyer {
  const secretBytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (secretBytes.length < MIN_SECRET_BYTES) {
    throw new Error(`the patient key secret must be at least ${MIN_SECRET_BYTES} bytes`);
  }
  // A KeyObject made once: given bytes, every HMAC would first make one of its own.
  const key = createSecretKey(secretBytes);
  return (nationalId) => {
    // Validated input only: anything else is a bug, and the value is not put in the message.
    if (!/^\d{11}$/.test(nationalId)) throw new Error('a patient key is made from an 11-digit national id only');
    return createHmac('sha256', key).update(nationalId, 'utf8').digest('base64url');
  };
}

/** What a patient key looks like (also the pattern in contracts/events/). */
export const PATIENT_KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;
