import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { keyPartition } from '../../../src/events/murmur2.ts';

/** What kafkajs' default partitioner (Kafka's Java default, murmur2) picks for a keyed record. */
function kafkajsPartition(key: Buffer | string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    partitionErrorCode: 0,
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
}

describe('key partition (murmur2)', () => {
  it("puts every key on the partition kafkajs' default partitioner picks, for keys of 0 to 64 bytes and 1 to 12 partitions", () => {
    const disagreements: string[] = [];
    for (let index = 0; index < 20_000; index += 1) {
      const key = randomBytes(index % 65);
      const partitions = 1 + (index % 12);
      if (keyPartition(key, partitions) !== kafkajsPartition(key, partitions)) disagreements.push(key.toString('hex'));
    }
    expect(disagreements).toEqual([]);
  });

  it('hashes a text key by its UTF-8 bytes, as kafkajs does', () => {
    for (const key of ['', 'a', 'pasient-nøkkel-æøå', 'x'.repeat(43), '🏃‍♀️4x4']) {
      expect(keyPartition(key, 6)).toBe(kafkajsPartition(key, 6));
      expect(keyPartition(key, 6)).toBe(keyPartition(Buffer.from(key, 'utf8'), 6));
    }
  });
});
