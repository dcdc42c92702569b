// The event relay on a real SQLite store in memory and a bus in memory that the test paces: the
// steps of consecutive batches overlap, yet a row is marked sent only after the bus acknowledged
// it, publishes never overlap and keep outbox order, and produce requests stay under a size.
import type { EventBus, OutgoingEvent, PublishedEvent } from '../../../src/events/event-bus.ts';
import {
  claimSizeAfter,
  DEFAULT_RELAY_BATCH,
  estimatedRecordBytes,
  MAX_RELAY_BATCH,
  produceRequests,
  startEventRelayWorker,
} from '../../../src/events/event-relay-worker.ts';
import { createMetrics } from '../../../src/platform/metrics.ts';
import type { RetryPolicy } from '../../../src/platform/retry.ts';
import type { Store } from '../../../src/store/store.ts';
import { silentLogger } from '../../support/silent-logger.ts';
import { addJob, numberedSubmissionId, storeWithJobs } from '../../support/store-with-jobs.ts';
import { until } from '../../support/until.ts';

const QUICK: RetryPolicy = { initialDelayMs: 5, maxDelayMs: 10, multiplier: 2, horizonMs: 60_000, maxRetryAfterMs: 10 };
const KEY = 'patient-key-1';

function event(index: number): OutgoingEvent {
  return { topic: 'relay-test', key: KEY, value: { id: `event-${index}`, type: 'test', index } };
}

/** An outbox of `count` due events, published in index order, all due a minute ago. */
function outboxOf(count: number): Promise<Store> {
  return storeWithJobs(count, 'event-publish', new Date(Date.now() - 60_000 + count), event);
}

/** A bus whose publishes the test paces; it remembers what it acknowledged, in order. */
function pacedBus(pace: (call: number, events: readonly OutgoingEvent[]) => Promise<void>) {
  const acknowledged: number[] = [];
  let calls = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const bus: EventBus = {
    async publish(events) {
      calls += 1;
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        await pace(calls, events);
      } finally {
        inFlight -= 1;
      }
      const placed: PublishedEvent[] = events.map(() => ({
        topic: 'relay-test',
        partition: 0,
        offset: String(acknowledged.length),
      }));
      for (const published of events) acknowledged.push(published.value.index as number);
      return placed;
    },
    subscribe: () => Promise.reject(new Error('not used')),
    consumerLag: () => Promise.reject(new Error('not used')),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { bus, acknowledged, mostInFlight: () => mostInFlight };
}

function relay(store: Store, bus: EventBus, options: { batchSize?: number; maxRequestBytes?: number; owner?: string }) {
  return startEventRelayWorker({
    store,
    bus,
    retryPolicy: QUICK,
    clock: () => new Date(),
    logger: silentLogger,
    metrics: createMetrics({ defaultMetrics: false }),
    owner: 'relay-test',
    idleMs: 5,
    ...options,
  });
}

async function published(store: Store, index: number): Promise<boolean> {
  const entries = await store.timeline(numberedSubmissionId(index));
  return entries.some((entry) => entry.kind === 'event-published');
}

describe('event relay', () => {
  it('publishes one request at a time, in outbox order, so one key keeps its order across batches', async () => {
    const store = await outboxOf(9);
    const paced = pacedBus(() => new Promise((resolve) => setTimeout(resolve, 5)));
    const worker = relay(store, paced.bus, { batchSize: 2 });
    await until('every event marked sent', async () =>
      (await Promise.all([...Array(9).keys()].map((i) => published(store, i)))).every(Boolean),
    );
    await worker.stop();
    expect(paced.acknowledged).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(paced.mostInFlight()).toBe(1);
    await store.close();
  });

  it('marks a batch sent while the next is being published, and never a row before the bus acknowledged it', async () => {
    const store = await outboxOf(4);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The second request (events 2 and 3) is held until the test lets it go.
    const paced = pacedBus((call) => (call === 2 ? held : Promise.resolve()));
    const worker = relay(store, paced.bus, { batchSize: 2 });
    await until('the first batch marked sent', async () => (await published(store, 0)) && (await published(store, 1)));
    // The first batch was marked while the second is still unacknowledged; the second is not marked.
    expect(paced.acknowledged).toEqual([0, 1]);
    expect(await published(store, 2)).toBe(false);
    expect(await published(store, 3)).toBe(false);
    release();
    await until('the second batch marked sent', async () => (await published(store, 2)) && (await published(store, 3)));
    await worker.stop();
    await store.close();
  });

  it('when a produce request fails, marks what was acknowledged before it and publishes the rest later, in order', async () => {
    const store = await outboxOf(4);
    // Each event is its own produce request; the second request fails once.
    const paced = pacedBus((call) =>
      call === 2 ? Promise.reject(new Error('broker unavailable')) : Promise.resolve(),
    );
    const worker = relay(store, paced.bus, { batchSize: 4, maxRequestBytes: 1 });
    await until('every event marked sent', async () =>
      (await Promise.all([0, 1, 2, 3].map((i) => published(store, i)))).every(Boolean),
    );
    await worker.stop();
    // Event 0 was acknowledged once and never published again; 1, 2 and 3 went out after the
    // failure, still in their order (each with its own jittered retry time they could swap).
    expect(paced.acknowledged).toEqual([0, 1, 2, 3]);
    await store.close();
  });

  it('stop() returns only after the last acknowledged batch is marked sent', async () => {
    const outbox = await outboxOf(2);
    // Marking takes a while, as on a busy database.
    const store: Store = {
      ...outbox,
      completeAll: async (...args) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return outbox.completeAll(...args);
      },
    };
    const paced = pacedBus(() => Promise.resolve());
    const worker = relay(store, paced.bus, { batchSize: 2 });
    await until('acknowledged', () => paced.acknowledged.length === 2);
    await worker.stop();
    expect(await published(store, 0)).toBe(true);
    expect(await published(store, 1)).toBe(true);
    await store.close();
  });
});

describe('one relay holds the queue (ADR 0059)', () => {
  /** Files event `index` in the outbox as a new submission's job, due now. */
  const addEvent = (store: Store, index: number): Promise<void> =>
    addJob(store, index, { queue: 'event-publish', payload: event(index), runAt: new Date() }, new Date());

  it('a second relay publishes nothing while the first holds the queue, and takes it over at once when the first stops', async () => {
    const store = await outboxOf(3);
    const first = pacedBus(() => Promise.resolve());
    const second = pacedBus(() => Promise.resolve());
    const firstRelay = relay(store, first.bus, { owner: 'relay-a' });
    await until('the first relay published the outbox', () => first.acknowledged.length === 3);
    const secondRelay = relay(store, second.bus, { owner: 'relay-b' });

    await addEvent(store, 3);
    await until('the new event published', () => published(store, 3));
    expect(first.acknowledged).toEqual([0, 1, 2, 3]);
    expect(second.acknowledged).toEqual([]);

    // Stopping gives the queue up: the second relay need not wait out the lease (a minute).
    await firstRelay.stop();
    await addEvent(store, 4);
    await until('the second relay published the next event', () => second.acknowledged.length === 1);
    expect(second.acknowledged).toEqual([4]);
    expect(first.acknowledged).toEqual([0, 1, 2, 3]);
    await secondRelay.stop();
    await store.close();
  });
});

describe('claims sized by bytes', () => {
  it('after a claim of small events, claims as many as fill one request (up to the most), in order', async () => {
    const store = await outboxOf(300);
    const sizes: number[] = [];
    const paced = pacedBus((_call, events) => {
      sizes.push(events.length);
      return Promise.resolve();
    });
    const worker = relay(store, paced.bus, {});
    await until('every event published', () => paced.acknowledged.length === 300);
    await worker.stop();
    // The first claim is the default hundred; these events are ~100 bytes, so the next takes the rest.
    expect(sizes).toEqual([DEFAULT_RELAY_BATCH, 300 - DEFAULT_RELAY_BATCH]);
    expect(paced.acknowledged).toEqual([...Array(300).keys()]);
    await store.close();
  });

  it("takes as many as fill a request at the last batch's mean size, no fewer than the default, no more than the most", () => {
    expect(claimSizeAfter(100, 400_000, 1_000_000)).toBe(250);
    expect(claimSizeAfter(100, 100_000, 1_000_000)).toBe(MAX_RELAY_BATCH);
    expect(claimSizeAfter(100, 5_000_000, 1_000_000)).toBe(DEFAULT_RELAY_BATCH);
    expect(claimSizeAfter(0, 0, 1_000_000)).toBe(DEFAULT_RELAY_BATCH);
  });
});

describe('produce requests', () => {
  it('splits events, in order, into runs no larger than the limit; an oversized one goes alone', () => {
    const sizes = [400, 400, 300, 1_200, 100, 900];
    const requests = produceRequests(sizes, 1_000, (size) => size);
    expect(requests).toEqual([[400, 400], [300], [1_200], [100, 900]]);
    expect(requests.flat()).toEqual(sizes);
  });

  it('estimates a record from its key, JSON value and headers', () => {
    const small = estimatedRecordBytes({ topic: 't', key: 'k', value: { a: 1 } });
    const large = estimatedRecordBytes({ topic: 't', key: 'k', value: { a: 'x'.repeat(1_000) }, headers: { h: 'v' } });
    // {"a":"xxx…"} is the 1,000 characters and two quotes longer than {"a":1} less the digit; the header adds 2.
    expect(large - small).toBe(1_000 + 2 - 1 + 2);
  });
});
