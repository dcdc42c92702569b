/** Reads topics from the beginning, in a consumer group of its own, for tests that check what was published. */
import { randomBytes } from 'node:crypto';
import type { ConsumedEvent, EventBus, Subscription } from '../../src/events/event-bus.ts';

/** Collects events until `enough` says so (or the time is up: the caller's assertions then say what was missing). */
export async function collectEvents(
  bus: EventBus,
  topics: string[],
  enough: (events: ConsumedEvent[]) => boolean,
  timeoutMs = 60_000,
): Promise<ConsumedEvent[]> {
  const events: ConsumedEvent[] = [];
  let subscription: Subscription | undefined;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    void bus
      .subscribe({
        groupId: `collect-events-${randomBytes(4).toString('hex')}`,
        topics,
        fromBeginning: true,
        handler: (event) => {
          events.push(event);
          if (enough(events)) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      })
      .then((started) => (subscription = started));
  });
  await subscription?.stop();
  return events;
}
