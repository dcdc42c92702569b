/**
 * UUIDs the service makes itself (IETF RFC 9562, "Universally Unique IDentifiers"): their text
 * form, and time-ordered ids for the rows the stores index by id.
 */
import { randomFillSync } from 'node:crypto';

/** The 8-4-4-4-12 hex text of 16 bytes whose version and variant bits are already set. */
export function uuidText(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A version 7 UUID (RFC 9562 §5.7): the Unix time in milliseconds in its first 48 bits, 74
 * random bits after it. Ids made one after another sort one after another, so a new row's id
 * goes to the end of the primary-key index (and of the indexes on submission_id) instead of into
 * a random page of it: on SQLite an accept wrote 33 KB to the disk with random (version 4) ids
 * and 14.5 KB with these (bench/README.md), and the gap grows with the table. Still a UUID to
 * anyone reading it; it tells when the row was made, which the record says anyway.
 */
export function timeOrderedUuid(at: Date): string {
  const bytes = randomFillSync(new Uint8Array(16));
  let millis = Math.max(0, Math.floor(at.getTime()));
  for (let index = 5; index >= 0; index--) {
    bytes[index] = millis % 256;
    millis = Math.floor(millis / 256);
  }
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  return uuidText(bytes);
}
