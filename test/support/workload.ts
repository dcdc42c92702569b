/**
 * A workload for the outage and crash tests: N submissions made from the golden fixtures (each
 * with its own input id, under one random source), posted by clients that retry what failed,
 * then checked end to end — every one delivered, exactly the expected resources in the EHR by
 * identifier, and one recorded CloudEvent id per submission on Kafka.
 */
import { randomBytes } from 'node:crypto';
import type { Bundle, FhirResource } from 'fhir/r4.js';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { mappers } from '../../mappings/registry.ts';
import { TOPICS } from '../../src/events/cloud-events.ts';
import type { ConsumedEvent, Subscription } from '../../src/events/event-bus.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { loadEventSchemas } from '../../src/events/event-schemas.ts';
import { createEventValidator } from '../../src/events/event-validator.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { createLogEventBus } from '../../src/events/log-event-bus.ts';
import { silentLogger } from './silent-logger.ts';
import { createSqliteStore } from '../../src/store/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { countByIdentifier, fhir, loadProfiles, registerPeople } from './fhir-server.ts';
import { fixtureCases, readInput } from './fixtures.ts';
import type { RecordKind } from '../../src/kinds/kinds.ts';

export interface WorkItem {
  readonly index: number;
  readonly kind: RecordKind;
  readonly input: Record<string, unknown>;
  readonly idempotencyKey: string;
}

const INPUT_ID_FIELD: Record<RecordKind, string> = {
  'hit-sessions': 'sessionId',
  'fitness-tests': 'testId',
  prescriptions: 'prescriptionId',
};

export function randomSource(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * `n` mixed inputs cycling through every fixture, each with its own input id. Sessions lose their
 * prescriptionId: the order of delivery is not what these tests are about.
 */
export function makeWorkload(n: number, source: string): WorkItem[] {
  const cases = fixtureCases();
  return Array.from({ length: n }, (_, index) => {
    const fixture = cases[index % cases.length];
    if (fixture === undefined) throw new Error('no fixtures');
    const input: Record<string, unknown> = { ...(readInput(fixture) as unknown as Record<string, unknown>), source };
    const field = INPUT_ID_FIELD[fixture.kind];
    input[field] = `${String(input[field])}-N${index}`;
    if (fixture.kind === 'hit-sessions') delete input.prescriptionId;
    return { index, kind: fixture.kind, input, idempotencyKey: `${source}-k${index}` };
  });
}

/** The EHR as the hospital has it before any record: profiles loaded, patients and practitioners known. */
export async function prepareEhr(ehr: string): Promise<void> {
  await loadProfiles(ehr);
  for (const fixture of fixtureCases()) {
    const input = readInput(fixture) as {
      patient: { nationalId: string };
      performer?: { hprNumber: string };
      prescriber?: { hprNumber: string };
    };
    const hpr = [input.performer?.hprNumber, input.prescriber?.hprNumber].filter(
      (value): value is string => value !== undefined,
    );
    await registerPeople(ehr, input.patient.nationalId, hpr);
  }
}

/** Anything posted to /v1/<kind>: a work item, or a discharge. */
export type Postable = Pick<WorkItem, 'index' | 'input' | 'idempotencyKey'> & {
  readonly kind: RecordKind | 'discharges';
};

export interface PostOutcome {
  readonly id: string;
  readonly status: number;
  /** Attempts that failed because the service was unreachable or answered 5xx. */
  readonly retries: number;
}

/**
 * POSTs one item until the service answers 202 or 200 (the same submission again), retrying with
 * the same body and Idempotency-Key while it is unreachable or answers 5xx. Anything else throws.
 */
export async function postUntilAccepted(
  baseUrl: () => string,
  item: Postable,
  deadlineMs = 180_000,
): Promise<PostOutcome> {
  const deadline = Date.now() + deadlineMs;
  let retries = 0;
  for (;;) {
    let waitMs = 100;
    try {
      const response = await fetch(`${baseUrl()}/v1/${item.kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': item.idempotencyKey },
        body: JSON.stringify(item.input),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await response.text();
      if (response.status === 202 || response.status === 200) {
        return { id: (JSON.parse(text) as { id: string }).id, status: response.status, retries };
      }
      // A client that keeps the rules: 429 means "again after Retry-After", like 5xx means "again".
      if (response.status === 429) waitMs = Number(response.headers.get('retry-after') ?? 1) * 1_000;
      else if (response.status < 500) throw new Error(`POST item ${item.index} answered ${response.status}: ${text}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('POST item')) throw error;
    }
    retries += 1;
    if (Date.now() > deadline) throw new Error(`POST item ${item.index} not accepted within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** Runs `task` over `items` with at most `concurrency` at a time; results in item order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        results[i] = await task(items[i] as T);
      }
    }),
  );
  return results;
}

/** Polls each submission's status until none is `accepted` any more; returns the statuses by id. */
export async function waitAllSettled(
  baseUrl: string,
  ids: readonly string[],
  timeoutMs: number,
): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  const statuses = new Map<string, string>();
  let pending = [...ids];
  while (pending.length > 0) {
    const seen = await pool(pending, 16, async (id) => {
      const response = await fetch(`${baseUrl}/v1/submissions/${id}`);
      const body = (await response.json()) as { status: string };
      return [id, body.status] as const;
    });
    for (const [id, status] of seen) statuses.set(id, status);
    pending = seen.filter(([, status]) => status === 'accepted').map(([id]) => id);
    if (pending.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return statuses;
}

interface ResourceKey {
  readonly type: string;
  readonly system: string;
  readonly value: string;
}

/** Every distinct resource (by type and first business identifier) the items' bundles carry. */
function expectedResources(items: readonly WorkItem[]): Map<string, ResourceKey> {
  const keys = new Map<string, ResourceKey>();
  for (const item of items) {
    const bundle = mappers[item.kind](item.input as never, DEFAULT_MAPPING_OPTIONS);
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource as FhirResource & { identifier?: { system?: string; value?: string }[] };
      const identifier = resource.identifier?.[0];
      const key = { type: resource.resourceType, system: identifier?.system ?? '', value: identifier?.value ?? '' };
      keys.set(`${key.type}|${key.system}|${key.value}`, key);
    }
  }
  return keys;
}

/**
 * Every resource the items' bundles carry, counted in the EHR by business identifier: returns
 * those whose count is not exactly 1 (an empty list is the pass).
 */
export async function unexpectedEhrCounts(ehr: string, items: readonly WorkItem[]): Promise<string[]> {
  const keys = expectedResources(items);
  const counts = await pool([...keys.entries()], 8, async ([name, key]) => {
    const count = await countByIdentifier(ehr, key.type, key.system, key.value);
    return `${name} = ${count}`;
  });
  return counts.filter((line) => !line.endsWith(' = 1'));
}

/**
 * For an EHR that holds nothing but these items (and the people prepareEhr registered): each
 * resource type's total on the server against the number of distinct resources expected, so a
 * resource created under some other identifier counts too. Returns the mismatches.
 */
export async function unexpectedEhrTotals(ehr: string, items: readonly WorkItem[]): Promise<string[]> {
  const expected = new Map<string, number>();
  for (const key of expectedResources(items).values()) expected.set(key.type, (expected.get(key.type) ?? 0) + 1);
  const totals = await pool([...expected.entries()], 4, async ([type, count]) => {
    const result = await fhir<Bundle>(ehr, 'GET', `${type}?_summary=count`);
    return { type, expected: count, found: result.body.total ?? -1 };
  });
  return totals
    .filter((total) => total.found !== total.expected)
    .map((total) => `${total.type}: ${total.found} on the server, ${total.expected} expected`);
}

/**
 * Reads the records topic from the beginning until every submission in `ids` has a recorded
 * event (or the time is up). Returns each submission's distinct event ids, how many messages
 * carried them (duplicates of one id are a redelivery, not a second event), and the ids of
 * events that break their JSON Schema. `source` is Kafka (a broker list) or the service's own
 * SQLite file, whose log is the event bus on the embedded defaults.
 */
export async function recordedEvents(
  source: { readonly kafka: string } | { readonly sqliteFile: string },
  ids: ReadonlySet<string>,
  timeoutMs: number,
): Promise<{ eventIds: Map<string, Set<string>>; messages: number; invalid: string[] }> {
  const store = 'sqliteFile' in source ? createSqliteStore({ file: source.sqliteFile }) : undefined;
  const bus =
    'kafka' in source
      ? createKafkaEventBus({ kafka: createKafka(source.kafka, silentLogger), logger: silentLogger })
      : createLogEventBus({ log: (store as Store).log, logger: silentLogger, pollIntervalMs: 100 });
  const validator = createEventValidator(loadEventSchemas());
  const eventIds = new Map<string, Set<string>>();
  const invalid: string[] = [];
  let messages = 0;
  let subscription: Subscription | undefined;
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void bus
        .subscribe({
          groupId: `workload-${randomBytes(4).toString('hex')}`,
          topics: [TOPICS.records],
          fromBeginning: true,
          handler: (event: ConsumedEvent) => {
            const subject = String(event.value.subject);
            if (ids.has(subject)) {
              messages += 1;
              if (!validator.validateEvent(event.value).ok) invalid.push(String(event.value.id));
              const seen = eventIds.get(subject) ?? new Set<string>();
              seen.add(String(event.value.id));
              eventIds.set(subject, seen);
              if (eventIds.size >= ids.size) {
                clearTimeout(timer);
                resolve();
              }
            }
            return Promise.resolve();
          },
        })
        .then((started) => (subscription = started));
    });
  } finally {
    await subscription?.stop();
    await bus.close();
    await store?.close();
  }
  return { eventIds, messages, invalid };
}
