/**
 * Which partition a keyed record goes to, as Kafka's Java client decides it (its default
 * partitioner: murmur2 of the key's bytes, made positive, modulo the topic's partitions) and
 * kafkajs' DefaultPartitioner after it. Here in 32-bit integer arithmetic: kafkajs computes the
 * same hash with emulated 64-bit longs, ~2.7 µs a record, about a tenth of what the relay's loop
 * spends per event (bench/README.md, session 15). Same hash, same partition, so a key's records
 * land where any Kafka client would put them; test/unit/events/murmur2.test.ts holds the two to
 * agreeing.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of `data`, a signed 32-bit integer. */
function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last one to three bytes, as the reference's fall-through switch takes them.
  const rest = length % 4;
  if (rest > 0) {
    if (rest === 3) h ^= (data[whole + 2] ?? 0) << 16;
    if (rest >= 2) h ^= (data[whole + 1] ?? 0) << 8;
    h ^= data[whole] ?? 0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `partitions` a record with this key goes to. */
export function keyPartition(key: Uint8Array | string, partitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}
