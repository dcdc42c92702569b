/**
 * The EventBus port. Two adapters: Kafka through kafkajs (production), and the store's own log
 * (the embedded default when no broker is configured). One contract suite
 * (test/contract/event-bus.contract.ts) runs against both.
 *
 * Guarantees every adapter gives:
 * - publish() resolves only once every record is durable (Kafka: acknowledged by all in-sync
 *   replicas, acks=-1, idempotent producer) and tells where each landed, one answer per record in
 *   the order given; it rejects otherwise, and then nothing may be marked sent.
 * - Records with the same key keep their order (Kafka: same partition).
 * - subscribe() delivers at least once per consumer group, in order per key, and commits a
 *   record's offset only after its handler resolved; a handler that throws gets the record again.
 * - consumerLag() reads what a group has committed, so it counts a record as handled exactly
 *   when the group would not get it again.
 */

export interface OutgoingEvent {
  readonly topic: string;
  /** The pseudonymous patient key (or recipient key): never a national id. */
  readonly key: string;
  /** A CloudEvent, structured JSON (contracts/events/). */
  readonly value: Readonly<Record<string, unknown>>;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Each value's JSON text, made once: the relay sizes its requests by it and the bus sends it. */
const valueTexts = new WeakMap<object, string>();

/** An event's value as JSON text, the record value an adapter sends; one JSON.stringify per value object. */
export function valueTextOf(event: OutgoingEvent): string {
  let text = valueTexts.get(event.value);
  if (text === undefined) {
    text = JSON.stringify(event.value);
    valueTexts.set(event.value, text);
  }
  return text;
}

export interface PublishedEvent {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface ConsumedEvent {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Subscription {
  /** Stops consuming after the handler in progress (if any) has finished. */
  stop(): Promise<void>;
}

export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. */
  readonly fromBeginning: boolean;
  /** A function property, not a method: adapters keep it apart from the options object. */
  readonly handler: (event: ConsumedEvent) => Promise<void>;
}

export interface EventBus {
  publish(events: readonly OutgoingEvent[]): Promise<PublishedEvent[]>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Records on `topic` that consumer group `groupId` has not committed yet, summed over the
   * topic's partitions: each partition's end (high watermark) minus the group's committed
   * offset there, or minus the partition's first offset (low watermark) where the group never
   * committed — where a fromBeginning group starts. Rejects when it cannot be known (the broker
   * unreachable, a Kafka topic that does not exist yet): a caller shows "unknown", never 0.
   */
  consumerLag(groupId: string, topic: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
