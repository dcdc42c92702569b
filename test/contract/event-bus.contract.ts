/**
 * The EventBus contract (src/events/event-bus.ts): every adapter runs this one suite
 * (test/contract/event-bus.test.ts). Each test uses its own topics and consumer groups.
 *
 * Where order matters the records share one key, so on Kafka they share a partition: then "the
 * first records a resumed group gets are exactly the new ones" also proves that nothing already
 * committed came again (it would have come first).
 */
import { randomUUID } from 'node:crypto';
import type { ConsumedEvent, EventBus, OutgoingEvent, Subscription } from '../../src/events/event-bus.ts';
import { until } from '../support/until.ts';

export interface EventBusFixture {
  readonly bus: EventBus;
  /** A topic name no other test uses. */
  topic(): string;
  close(): Promise<void>;
}

const WAIT_MS = 60_000;

const waitFor = (what: string, condition: () => boolean, timeoutMs = WAIT_MS) =>
  until(what, condition, { timeoutMs, everyMs: 20 });

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Body = {
  readonly specversion: '1.0';
  readonly id: string;
  readonly seq: number;
};

function event(topic: string, key: string, seq: number): OutgoingEvent {
  const body: Body = { specversion: '1.0', id: `${key}-${seq}`, seq };
  return { topic, key, value: body, headers: { 'content-type': 'application/cloudevents+json', seq: String(seq) } };
}

const idOf = (received: ConsumedEvent): string => (received.value as unknown as Body).id;
const seqOf = (received: ConsumedEvent): number => (received.value as unknown as Body).seq;

export function describeEventBusContract(name: string, make: () => Promise<EventBusFixture>): void {
  describe(`EventBus contract: ${name}`, () => {
    let fixture: EventBusFixture;
    let bus: EventBus;
    const subscriptions: Subscription[] = [];

    beforeEach(async () => {
      fixture = await make();
      bus = fixture.bus;
    });

    afterEach(async () => {
      for (const subscription of subscriptions.splice(0)) await subscription.stop();
      await fixture.close();
    });

    /** Subscribes a group that records everything it is given (after `before` runs, if any). */
    async function consume(
      groupId: string,
      topics: readonly string[],
      before?: (received: ConsumedEvent) => Promise<void>,
    ): Promise<{ received: ConsumedEvent[]; subscription: Subscription }> {
      const received: ConsumedEvent[] = [];
      const subscription = await bus.subscribe({
        groupId,
        topics,
        fromBeginning: true,
        handler: async (consumed) => {
          await before?.(consumed);
          received.push(consumed);
        },
      });
      subscriptions.push(subscription);
      return { received, subscription };
    }

    async function stop(subscription: Subscription): Promise<void> {
      subscriptions.splice(subscriptions.indexOf(subscription), 1);
      await subscription.stop();
    }

    it('answers ping', async () => {
      await expect(bus.ping()).resolves.toBeUndefined();
    });

    it('publish() says where every record landed, several on one partition included, and a consumer finds each there', async () => {
      const topic = fixture.topic();
      const keys = ['a', 'a', 'b', 'a', 'c', 'b', 'a', 'a'];
      const events = keys.map((key, seq) => event(topic, key, seq));
      const published = await bus.publish(events);
      const more = await bus.publish([event(topic, 'a', 8), event(topic, 'b', 9)]);
      const all = [...published, ...more];
      const sent = [...events, event(topic, 'a', 8), event(topic, 'b', 9)];

      expect(published).toHaveLength(events.length);
      expect(await bus.publish([])).toEqual([]);
      for (const landed of all) {
        expect(landed.topic).toBe(topic);
        expect(Number.isInteger(landed.partition) && landed.partition >= 0).toBe(true);
        expect(landed.offset).toMatch(/^\d+$/);
      }
      // One key, one partition; within a partition, offsets rise in publish order and never repeat.
      for (const key of new Set(sent.map((e) => e.key))) {
        const partitions = new Set(all.filter((_, i) => sent[i]?.key === key).map((p) => p.partition));
        expect(partitions.size).toBe(1);
      }
      for (const partition of new Set(all.map((p) => p.partition))) {
        const offsets = all.filter((p) => p.partition === partition).map((p) => BigInt(p.offset));
        for (let i = 1; i < offsets.length; i += 1) expect((offsets[i] ?? 0n) > (offsets[i - 1] ?? 0n)).toBe(true);
      }

      const { received } = await consume(`group-${randomUUID()}`, [topic]);
      await waitFor('all 10 records', () => received.length >= sent.length);
      expect(received).toHaveLength(sent.length);
      sent.forEach((outgoing, i) => {
        const body = outgoing.value as unknown as Body;
        const got = received.find((r) => idOf(r) === body.id);
        expect(got).toEqual({
          topic,
          partition: all[i]?.partition,
          offset: all[i]?.offset,
          key: outgoing.key,
          value: outgoing.value,
          headers: outgoing.headers,
        });
      });
    });

    it('delivers every record to a consumer group, exactly once and in order per key, published before or after it subscribed', async () => {
      const topic = fixture.topic();
      const keys = ['p1', 'p2', 'p3', 'p4'];
      const sent: OutgoingEvent[] = [];
      const batch = (): OutgoingEvent[] => {
        const events = Array.from({ length: 10 }, (_, i) => event(topic, keys[i % 4] ?? '', sent.length + i));
        sent.push(...events);
        return events;
      };
      await bus.publish(batch());
      const { received } = await consume(`group-${randomUUID()}`, [topic]);
      await bus.publish(batch());
      await bus.publish(batch());

      await waitFor('30 records', () => received.length >= 30);
      await delay(300);
      expect(received).toHaveLength(30);
      expect(new Set(received.map(idOf)).size).toBe(30);
      for (const key of keys) {
        const expected = sent.filter((e) => e.key === key).map((e) => (e.value as unknown as Body).seq);
        expect(received.filter((r) => r.key === key).map(seqOf)).toEqual(expected);
      }
    });

    it('gives two consumer groups everything, each', async () => {
      const topic = fixture.topic();
      const events = Array.from({ length: 12 }, (_, i) => event(topic, `k${i % 3}`, i));
      await bus.publish(events);
      const first = await consume(`group-${randomUUID()}`, [topic]);
      const second = await consume(`group-${randomUUID()}`, [topic]);
      await waitFor('12 records in each group', () => first.received.length >= 12 && second.received.length >= 12);
      await delay(300);
      const ids = events.map((e) => (e.value as unknown as Body).id).sort();
      expect(first.received.map(idOf).sort()).toEqual(ids);
      expect(second.received.map(idOf).sort()).toEqual(ids);
    });

    it('reads several topics in one subscription', async () => {
      const [one, two] = [fixture.topic(), fixture.topic()];
      await bus.publish([event(one, 'k', 0), event(two, 'k', 1), event(one, 'k', 2)]);
      const { received } = await consume(`group-${randomUUID()}`, [one, two]);
      await waitFor('3 records', () => received.length >= 3);
      expect(received.filter((r) => r.topic === one).map(seqOf)).toEqual([0, 2]);
      expect(received.filter((r) => r.topic === two).map(seqOf)).toEqual([1]);
    });

    it('gives a handler that throws the same record again, and nothing after it first', async () => {
      const topic = fixture.topic();
      await bus.publish([0, 1, 2, 3].map((seq) => event(topic, 'k', seq)));
      const calls: number[] = [];
      let failuresLeft = 2;
      const groupId = `group-${randomUUID()}`;
      const { received, subscription } = await consume(groupId, [topic], (consumed) => {
        calls.push(seqOf(consumed));
        if (seqOf(consumed) === 1 && failuresLeft > 0) {
          failuresLeft -= 1;
          return Promise.reject(new Error('handler failure (on purpose)'));
        }
        return Promise.resolve();
      });
      await waitFor('4 records handled', () => received.length >= 4);
      expect(calls).toEqual([0, 1, 1, 1, 2, 3]);
      expect(received.map(seqOf)).toEqual([0, 1, 2, 3]);

      // All four were committed once handled: the group resumes with what comes next.
      await stop(subscription);
      await bus.publish([event(topic, 'k', 4)]);
      const resumed = await consume(groupId, [topic]);
      await waitFor('the next record', () => resumed.received.length >= 1);
      await delay(300);
      expect(resumed.received.map(seqOf)).toEqual([4]);
    });

    it('never commits a record whose handler kept failing until stop(): the resumed group gets it first', async () => {
      const topic = fixture.topic();
      const groupId = `group-${randomUUID()}`;
      await bus.publish([0, 1, 2].map((seq) => event(topic, 'k', seq)));
      let attempts = 0;
      const failing = await consume(groupId, [topic], (consumed) => {
        if (seqOf(consumed) !== 1) return Promise.resolve();
        attempts += 1;
        return Promise.reject(new Error('handler failure (on purpose)'));
      });
      await waitFor('two failed attempts', () => attempts >= 2);
      await stop(failing.subscription);
      expect(failing.received.map(seqOf)).toEqual([0]);
      // Not handled, so not counted as handled: the lag still holds it and the one behind it.
      expect(await bus.consumerLag(groupId, topic)).toBe(2);

      const healthy = await consume(groupId, [topic]);
      await waitFor('the rest', () => healthy.received.length >= 2);
      await delay(300);
      expect(healthy.received.map(seqOf)).toEqual([1, 2]);
    });

    it('after stop(), a new subscription of the same group resumes after the last committed record', async () => {
      const topic = fixture.topic();
      const groupId = `group-${randomUUID()}`;
      await bus.publish([0, 1, 2].map((seq) => event(topic, 'k', seq)));
      const first = await consume(groupId, [topic]);
      await waitFor('3 records', () => first.received.length >= 3);
      await stop(first.subscription);

      await bus.publish([3, 4, 5].map((seq) => event(topic, 'k', seq)));
      const second = await consume(groupId, [topic]);
      await waitFor('3 more records', () => second.received.length >= 3);
      await delay(300);
      expect(first.received.map(seqOf)).toEqual([0, 1, 2]);
      expect(second.received.map(seqOf)).toEqual([3, 4, 5]);
    });

    it('stop() waits for the handler in progress, which then counts as handled', async () => {
      const topic = fixture.topic();
      const groupId = `group-${randomUUID()}`;
      await bus.publish([0, 1, 2].map((seq) => event(topic, 'k', seq)));
      let entered: () => void = () => undefined;
      const inHandler = new Promise<void>((resolve) => {
        entered = resolve;
      });
      let finished = false;
      const first = await consume(groupId, [topic], async (consumed) => {
        if (seqOf(consumed) !== 1) return;
        entered();
        await delay(500);
        finished = true;
      });
      await inHandler;
      await stop(first.subscription);
      expect(finished).toBe(true);
      expect(first.received.map(seqOf)).toEqual([0, 1]);

      const second = await consume(groupId, [topic]);
      await waitFor('the rest', () => second.received.length >= 1);
      await delay(300);
      expect(second.received.map(seqOf)).toEqual([2]);
    });

    it("consumerLag counts what a group has not handled, over all partitions, from the topic's start until it commits", async () => {
      const topic = fixture.topic();
      const groupId = `group-${randomUUID()}`;
      // Several keys: on Kafka they spread over partitions, and the lag is their sum.
      await bus.publish(['a', 'b', 'c', 'd', 'e'].map((key, seq) => event(topic, key, seq)));
      expect(await bus.consumerLag(groupId, topic)).toBe(5);

      const first = await consume(groupId, [topic]);
      await waitFor('5 records', () => first.received.length >= 5);
      // stop() waits for the last handler and its commit.
      await stop(first.subscription);
      expect(await bus.consumerLag(groupId, topic)).toBe(0);

      await bus.publish([event(topic, 'a', 5), event(topic, 'f', 6)]);
      expect(await bus.consumerLag(groupId, topic)).toBe(2);
      // Another group's lag is its own: it has handled nothing.
      expect(await bus.consumerLag(`group-${randomUUID()}`, topic)).toBe(7);

      const second = await consume(groupId, [topic]);
      await waitFor('2 more records', () => second.received.length >= 2);
      await stop(second.subscription);
      expect(await bus.consumerLag(groupId, topic)).toBe(0);
    });

    it('shows a group that starts from the beginning what was published before it subscribed', async () => {
      const topic = fixture.topic();
      await bus.publish([event(topic, 'k', 0)]);
      const { received } = await consume(`group-${randomUUID()}`, [topic]);
      await waitFor('the record', () => received.length >= 1);
      expect(received.map(seqOf)).toEqual([0]);
    });
  });
}
