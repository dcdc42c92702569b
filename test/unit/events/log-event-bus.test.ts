// What the contract suite (test/contract/event-bus.contract.ts) cannot say for every adapter:
// the log bus's start position for a group that does not start from the beginning, the search
// for the end of a topic, one subscription per group, a poison record that is never skipped, and
// the lag of a log whose first records are gone.
import { pino } from 'pino';
import type { ConsumedEvent } from '../../../src/events/event-bus.ts';
import { createLogEventBus, endOffset } from '../../../src/events/log-event-bus.ts';
import type { EventLog, LogRecord, StoredLogRecord } from '../../../src/store/store.ts';
import { until } from '../../support/until.ts';

const silent = pino({ level: 'silent' });

/** The EventLog port in memory, with the offsets it is told to use (gaps allowed). */
function memoryLog(): EventLog & { reads: number; put(topic: string, offset: number, value?: string): void } {
  const records = new Map<string, StoredLogRecord[]>();
  const committed = new Map<string, number>();
  const put = (topic: string, offset: number, value = '{"n":1}'): void => {
    const list = records.get(topic) ?? [];
    list.push({ topic, key: 'k', value, headers: {}, offset, appendedAt: new Date(0) });
    records.set(topic, list);
  };
  const log = {
    reads: 0,
    put,
    append(batch: readonly LogRecord[], now: Date) {
      return Promise.resolve(
        batch.map((record) => {
          const list = records.get(record.topic) ?? [];
          const offset = (list.at(-1)?.offset ?? -1) + 1;
          list.push({ ...record, offset, appendedAt: now });
          records.set(record.topic, list);
          return offset;
        }),
      );
    },
    read(topic: string, fromOffset: number, limit: number) {
      log.reads += 1;
      return Promise.resolve((records.get(topic) ?? []).filter((r) => r.offset >= fromOffset).slice(0, limit));
    },
    committedOffset(group: string, topic: string) {
      return Promise.resolve(committed.get(`${group}\n${topic}`) ?? 0);
    },
    commitOffset(group: string, topic: string, nextOffset: number) {
      committed.set(`${group}\n${topic}`, nextOffset);
      return Promise.resolve();
    },
  };
  return log;
}

describe('endOffset', () => {
  it('is 0 for an empty topic', async () => {
    expect(await endOffset(memoryLog(), 't')).toBe(0);
  });

  it.each([1, 2, 3, 7, 8, 9, 1000, 1025])('is %i after offsets 0..%i-1, found in a few reads', async (count) => {
    const log = memoryLog();
    for (let offset = 0; offset < count; offset += 1) log.put('t', offset);
    expect(await endOffset(log, 't')).toBe(count);
    expect(log.reads).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(count + 1)) + 2);
  });

  it('copes with gaps in the offsets', async () => {
    const log = memoryLog();
    for (const offset of [3, 4, 17, 18, 100]) log.put('t', offset);
    expect(await endOffset(log, 't')).toBe(101);
  });
});

describe('log event bus', () => {
  it('starts a group that does not start from the beginning at the end, and keeps that place', async () => {
    const log = memoryLog();
    const bus = createLogEventBus({ log, logger: silent, pollIntervalMs: 10 });
    await bus.publish([{ topic: 't', key: 'k', value: { n: 0 } }]);
    const received: ConsumedEvent[] = [];
    const subscription = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: false,
      handler: (event) => {
        received.push(event);
        return Promise.resolve();
      },
    });
    expect(await log.committedOffset('g', 't')).toBe(1);
    await subscription.stop();

    // Published while the group was away: seen when it comes back, though not from the beginning.
    await bus.publish([{ topic: 't', key: 'k', value: { n: 1 } }]);
    const again = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: false,
      handler: (event) => {
        received.push(event);
        return Promise.resolve();
      },
    });
    await until('the record received', () => received.length >= 1);
    await again.stop();
    expect(received.map((event) => event.value)).toEqual([{ n: 1 }]);
  });

  it('refuses a second subscription of a group that is consuming, and allows it after stop()', async () => {
    const bus = createLogEventBus({ log: memoryLog(), logger: silent, pollIntervalMs: 10 });
    const options = { groupId: 'g', topics: ['t'], fromBeginning: true, handler: () => Promise.resolve() };
    const first = await bus.subscribe(options);
    await expect(bus.subscribe(options)).rejects.toThrow(/already consuming/);
    await first.stop();
    const second = await bus.subscribe(options);
    await bus.close();
    await second.stop();
  });

  it('never skips a record that is not JSON: it is retried, and nothing after it is delivered', async () => {
    const log = memoryLog();
    log.put('t', 0, 'not json');
    log.put('t', 1, '{"n":2}');
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const bus = createLogEventBus({ log, logger, pollIntervalMs: 10, retryDelayMs: () => 5 });
    const received: ConsumedEvent[] = [];
    const subscription = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
      handler: (event) => {
        received.push(event);
        return Promise.resolve();
      },
    });
    await until('three lines logged', () => lines.length >= 3);
    await subscription.stop();
    expect(received).toEqual([]);
    const warnings = lines.map((line) => JSON.parse(line) as { msg: string; offset: number; failures: number });
    expect(warnings.slice(0, 3).map((w) => [w.msg, w.offset, w.failures])).toEqual([
      ['handler failed; the same record is retried', 0, 1],
      ['handler failed; the same record is retried', 0, 2],
      ['handler failed; the same record is retried', 0, 3],
    ]);
    expect(await log.committedOffset('g', 't')).toBe(0);
  });

  it("counts a group's lag from the first record while it never committed, and from its commit after", async () => {
    const log = memoryLog();
    const bus = createLogEventBus({ log, logger: silent });
    expect(await bus.consumerLag('g', 't')).toBe(0);
    // A log whose first records are gone: the lag counts what is there, from offset 5.
    for (const offset of [5, 6, 7, 8]) log.put('t', offset);
    expect(await bus.consumerLag('g', 't')).toBe(4);
    await log.commitOffset('g', 't', 7);
    expect(await bus.consumerLag('g', 't')).toBe(2);
    expect(await bus.consumerLag('other', 't')).toBe(4);
    await log.commitOffset('g', 't', 9);
    expect(await bus.consumerLag('g', 't')).toBe(0);
  });

  it('rejects a lag read when the log cannot be read, rather than answering 0', async () => {
    const log = memoryLog();
    const bus = createLogEventBus({
      log: { ...log, committedOffset: () => Promise.reject(new Error('database is locked')) },
      logger: silent,
    });
    await expect(bus.consumerLag('g', 't')).rejects.toThrow('database is locked');
  });

  it('answers publish with partition 0 and the log offsets', async () => {
    const bus = createLogEventBus({ log: memoryLog(), logger: silent });
    const published = await bus.publish([
      { topic: 'a', key: 'k', value: {} },
      { topic: 'b', key: 'k', value: {} },
      { topic: 'a', key: 'k', value: {} },
    ]);
    expect(published).toEqual([
      { topic: 'a', partition: 0, offset: '0' },
      { topic: 'b', partition: 0, offset: '0' },
      { topic: 'a', partition: 0, offset: '1' },
    ]);
  });
});
