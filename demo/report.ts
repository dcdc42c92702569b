/**
 * What the demo shows after its run: what the EHR holds under the run's identifier system, which
 * events the run put on Kafka (per topic), the handover packets as HTML files, and the service's
 * own counters. Each figure is read from the peer itself, never from what the demo sent.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Identifier } from 'fhir/r4.js';
import { businessIdentifier, DEFAULT_MAPPING_OPTIONS } from '../mappings/common.ts';
import { mappers } from '../mappings/registry.ts';
import { OBAB00 } from '../mappings/terminology.ts';
import { EVENT_TYPES, TOPICS } from '../src/events/cloud-events.ts';
import type { ConsumedEvent, Subscription } from '../src/events/event-bus.ts';
import { createKafka } from '../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../src/events/kafka-event-bus.ts';
import { referralIdentifiers } from '../src/handover/referral.ts';
import { fhir } from '../test/support/fhir-server.ts';
import { parseExposition } from '../test/support/prometheus-text.ts';
import { silentLogger } from '../test/support/silent-logger.ts';
import type { DemoPatient } from './st-olavs-cohort.ts';

/** The topics a run writes to, in the order the report lists them. */
export const DEMO_TOPICS = [TOPICS.records, TOPICS.deliveryFailures, TOPICS.handover, TOPICS.handoverPackets] as const;

/** The identifier system every resource of this run carries (mappings/common.ts businessIdentifier). */
export function identifierSystem(source: string): string {
  return businessIdentifier(source, 'session', 'x').system ?? '';
}

/** How many resources of each type the EHR should hold after the run: the mappings' output, plus each referral. */
export function expectedEhrCounts(patients: readonly DemoPatient[]): Map<string, number> {
  const identifiers = new Map<string, Set<string>>();
  const add = (resourceType: string, identifier: Identifier | undefined) => {
    const seen = identifiers.get(resourceType) ?? new Set<string>();
    seen.add(identifier?.value ?? '');
    identifiers.set(resourceType, seen);
  };
  for (const { inputs } of patients) {
    const bundles = [
      mappers.prescriptions(inputs.prescription, DEFAULT_MAPPING_OPTIONS),
      ...inputs.sessions.map((session) => mappers['hit-sessions'](session, DEFAULT_MAPPING_OPTIONS)),
      ...inputs.fitnessTests.map((test) => mappers['fitness-tests'](test, DEFAULT_MAPPING_OPTIONS)),
    ];
    for (const { resource } of bundles.flatMap((bundle) => bundle.entry ?? [])) {
      if (resource) add(resource.resourceType, (resource as { identifier?: Identifier[] }).identifier?.[0]);
    }
    // The handover's referral to the Frisklivssentral: a continuation ServiceRequest and its Task.
    if (inputs.discharge.consent.frisklivssentral) {
      const referral = referralIdentifiers(inputs.discharge.source, inputs.discharge.dischargeId);
      add('ServiceRequest', referral.serviceRequest);
      add('Task', referral.task);
    }
  }
  return new Map(
    [...identifiers.entries()]
      .map(([type, values]): [string, number] => [type, values.size])
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Prescriptions, sessions and fitness tests: each is one submission and one event on the records topic. */
export function expectedRecordCount(patients: readonly DemoPatient[]): number {
  return patients.reduce((n, { inputs }) => n + 1 + inputs.sessions.length + inputs.fitnessTests.length, 0);
}

/** One packet for the Frisklivssentral where the patient agreed, one for a named training contact the patient agreed to. */
export function expectedPacketCount(patients: readonly DemoPatient[]): number {
  return patients.reduce(
    (n, { inputs: { discharge } }) =>
      n +
      Number(discharge.consent.frisklivssentral) +
      Number(discharge.consent.trainingContact && discharge.recipients.trainingContact !== undefined),
    0,
  );
}

/** Resources of a type on the server with an identifier in `system` (FHIR token search `system|`). */
export async function ehrCount(ehr: string, resourceType: string, system: string, extra = ''): Promise<number> {
  const query = new URLSearchParams({ identifier: `${system}|`, _summary: 'count' });
  const result = await fhir<Bundle>(ehr, 'GET', `${resourceType}?${query.toString()}${extra}`);
  if (result.status !== 200) throw new Error(`counting ${resourceType} in the EHR answered ${result.status}`);
  return result.body.total ?? 0;
}

export interface EhrReport {
  readonly counts: Map<string, number>;
  /** Procedures coded with the NCMP code OBAB00. */
  readonly obab00Procedures: number;
}

export async function readEhr(ehr: string, source: string, types: readonly string[]): Promise<EhrReport> {
  const system = identifierSystem(source);
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, await ehrCount(ehr, type, system));
  const obab00 = `&code=${encodeURIComponent(`${OBAB00.system}|${OBAB00.code}`)}`;
  return { counts, obab00Procedures: await ehrCount(ehr, 'Procedure', system, obab00) };
}

export interface KafkaReport {
  /** Distinct events (by CloudEvents id) per topic whose subject is one of the run's submissions. */
  readonly perTopic: Map<string, number>;
  readonly packets: readonly ConsumedEvent[];
}

/**
 * Reads the run's topics from the beginning with a group of its own until each topic holds at
 * least `expected` of this run's events (another run's events on a shared broker are skipped),
 * then waits `settleMs` more for anything unexpected, or gives up at `timeoutMs`.
 */
export async function readKafka(
  brokers: string,
  submissionIds: ReadonlySet<string>,
  expected: ReadonlyMap<string, number>,
  timeoutMs: number,
  settleMs = 2_000,
): Promise<KafkaReport> {
  const bus = createKafkaEventBus({ kafka: createKafka(brokers, silentLogger), logger: silentLogger });
  const ids = new Map<string, Set<string>>(DEMO_TOPICS.map((topic) => [topic, new Set<string>()]));
  const packets = new Map<string, ConsumedEvent>();
  let subscription: Subscription | undefined;
  const complete = () => [...expected.entries()].every(([topic, count]) => (ids.get(topic)?.size ?? 0) >= count);
  try {
    subscription = await bus.subscribe({
      groupId: `hit-bridge-demo-report-${[...submissionIds][0] ?? 'none'}`,
      topics: [...DEMO_TOPICS],
      fromBeginning: true,
      handler: (event) => {
        if (!submissionIds.has(String(event.value.subject))) return Promise.resolve();
        ids.get(event.topic)?.add(String(event.value.id));
        if (event.value.type === EVENT_TYPES.handoverPacket) packets.set(String(event.value.id), event);
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!complete() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    await subscription?.stop();
    await bus.close();
  }
  return {
    perTopic: new Map([...ids.entries()].map(([topic, seen]) => [topic, seen.size])),
    packets: [...packets.values()],
  };
}

interface PacketData {
  readonly recipient: string;
  readonly inputId: string;
  readonly packet: { readonly html: string };
}

/** Writes each packet's print-ready HTML as <dischargeId>-<recipient>.html; returns the paths, sorted. */
export function writePacketHtml(dir: string, packets: readonly ConsumedEvent[]): string[] {
  mkdirSync(dir, { recursive: true });
  const paths = packets.map((event) => {
    const data = event.value.data as PacketData;
    const path = join(dir, `${data.inputId}-${data.recipient}.html`);
    writeFileSync(path, data.packet.html);
    return path;
  });
  return paths.sort();
}

/** The service's own samples of the series named, from /metrics: series name + labels → value. */
export async function readMetrics(baseUrl: string, names: readonly string[]): Promise<Map<string, number>> {
  const samples = parseExposition(await (await fetch(`${baseUrl}/metrics`)).text());
  return new Map(
    samples
      .filter((sample) => names.includes(sample.name))
      .map((sample) => {
        const labels = Object.entries(sample.labels).map(([key, value]) => `${key}="${value}"`);
        return [`${sample.name}${labels.length > 0 ? `{${labels.join(',')}}` : ''}`, sample.value];
      }),
  );
}

/** Waits until the series named (summed over their labels) reach `target`; the sum it saw last. */
export async function waitForCounters(
  baseUrl: string,
  names: readonly string[],
  target: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sum = [...(await readMetrics(baseUrl, names)).values()].reduce((a, b) => a + b, 0);
    if (sum >= target || Date.now() > deadline) return sum;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
