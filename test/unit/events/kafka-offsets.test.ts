// kafkajs answers a publish with one base offset per topic-partition; the offset of every record
// is worked out from it. Several records on one partition are the case that matters.
import type { RecordMetadata } from 'kafkajs';
import { consumerLagOf, recordOffsets } from '../../../src/events/kafka-event-bus.ts';

const answer = (topicName: string, partition: number, baseOffset: string): RecordMetadata => ({
  topicName,
  partition,
  errorCode: 0,
  baseOffset,
});

describe('recordOffsets', () => {
  it('numbers the records of one partition from its base offset, in the order they were sent', () => {
    const placements = [
      { topic: 't', partition: 2 },
      { topic: 't', partition: 0 },
      { topic: 't', partition: 2 },
      { topic: 't', partition: 2 },
      { topic: 't', partition: 0 },
    ];
    expect(recordOffsets(placements, [answer('t', 0, '7'), answer('t', 2, '40')])).toEqual([
      { topic: 't', partition: 2, offset: '40' },
      { topic: 't', partition: 0, offset: '7' },
      { topic: 't', partition: 2, offset: '41' },
      { topic: 't', partition: 2, offset: '42' },
      { topic: 't', partition: 0, offset: '8' },
    ]);
  });

  it('keeps topics apart when they share partition numbers', () => {
    const placements = [
      { topic: 'a', partition: 1 },
      { topic: 'b', partition: 1 },
      { topic: 'a', partition: 1 },
    ];
    expect(recordOffsets(placements, [answer('b', 1, '0'), answer('a', 1, '100')])).toEqual([
      { topic: 'a', partition: 1, offset: '100' },
      { topic: 'b', partition: 1, offset: '0' },
      { topic: 'a', partition: 1, offset: '101' },
    ]);
  });

  it('counts beyond 2^53 without losing precision', () => {
    const placements = [
      { topic: 't', partition: 0 },
      { topic: 't', partition: 0 },
    ];
    expect(recordOffsets(placements, [answer('t', 0, '9007199254740993')]).map((p) => p.offset)).toEqual([
      '9007199254740993',
      '9007199254740994',
    ]);
  });

  it('refuses to guess when the broker said nothing about a partition', () => {
    expect(() => recordOffsets([{ topic: 't', partition: 3 }], [answer('t', 0, '1')])).toThrow(
      /without an offset for t partition 3/,
    );
  });
});

describe('consumerLagOf', () => {
  const watermarks = [
    { partition: 0, low: '0', high: '10' },
    { partition: 1, low: '4', high: '9' },
    { partition: 2, low: '0', high: '0' },
  ];

  it('sums high watermark minus committed offset over the partitions', () => {
    expect(
      consumerLagOf(watermarks, [
        { partition: 0, offset: '7' },
        { partition: 1, offset: '9' },
        { partition: 2, offset: '0' },
      ]),
    ).toBe(3);
  });

  it('counts a partition the group never committed ("-1", or not answered) from its low watermark', () => {
    expect(consumerLagOf(watermarks, [{ partition: 0, offset: '-1' }])).toBe(10 + 5);
    expect(consumerLagOf(watermarks, [])).toBe(15);
  });

  it('counts from the low watermark when retention deleted what the committed offset pointed at', () => {
    expect(consumerLagOf([{ partition: 0, low: '100', high: '120' }], [{ partition: 0, offset: '30' }])).toBe(20);
  });

  it('is 0 for a group at the end, and never negative', () => {
    expect(consumerLagOf([{ partition: 0, low: '0', high: '5' }], [{ partition: 0, offset: '5' }])).toBe(0);
    expect(consumerLagOf([{ partition: 0, low: '0', high: '5' }], [{ partition: 0, offset: '6' }])).toBe(0);
  });
});
