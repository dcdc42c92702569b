/**
 * One trace follows a HIT session from the clinic's request to the EHR and Kafka, on the real
 * peers (PostgreSQL, Kafka, HAPI): the service runs in this process with tracing started on an
 * in-memory exporter, the session is posted with the clinic's traceparent, and once it is
 * delivered the spans, the Kafka record's headers and the headers HAPI received must all name
 * that trace. HAPI is reached through a pass-through proxy that notes each request's trace
 * headers (HAPI does not log them); everything it forwards and answers is HAPI's own.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { EVENT_TYPES, TOPICS } from '../../src/events/cloud-events.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { SpanKind, startTracing, type RunningTracing } from '../../src/platform/tracing.ts';
import { startService, type RunningService } from '../../src/service.ts';
import { collectEvents } from '../support/collect-events.ts';
import { loadProfiles, registerPeople } from '../support/fhir-server.ts';
import { fixtureCases, readInput } from '../support/fixtures.ts';
import { forwardRequest } from '../support/forward-request.ts';
import { peerEnv } from '../support/peers-env.ts';
import { scratchDatabases } from '../support/scratch-databases.ts';
import { silentLogger } from '../support/silent-logger.ts';
import { randomSource, waitAllSettled } from '../support/workload.ts';
import type { RecordKind } from '../../src/kinds/kinds.ts';
import { poll } from '../support/until.ts';

const ehr = peerEnv('EHR_BASE_URL');
const databases = scratchDatabases('tracing');

interface SeenRequest {
  readonly method: string;
  readonly traceparent: string | undefined;
  readonly tracestate: string | undefined;
}

/** Forwards every request to `target` unchanged and notes its trace headers. */
async function recordingProxy(target: string): Promise<{ server: Server; baseUrl: string; seen: SeenRequest[] }> {
  const upstream = new URL(target);
  const seen: SeenRequest[] = [];
  const header = (value: string | string[] | undefined) => (typeof value === 'string' ? value : undefined);
  const server = createServer((incoming, outgoing) => {
    seen.push({
      method: incoming.method ?? '',
      traceparent: header(incoming.headers.traceparent),
      tracestate: header(incoming.headers.tracestate),
    });
    forwardRequest(upstream, incoming, outgoing).on('error', () => outgoing.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, baseUrl: `http://127.0.0.1:${port}${upstream.pathname}`, seen };
}

async function post(base: string, kind: RecordKind, input: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/v1/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

/** Polls until `until` holds (or the time is up: the caller's assertions then say what was missing). */

function traceparentParts(value: string | undefined): { traceId: string; parentId: string } | undefined {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(value ?? '');
  return match ? { traceId: match[1] ?? '', parentId: match[2] ?? '' } : undefined;
}

function fixture(kind: RecordKind, name: string) {
  const found = fixtureCases([kind]).find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no fixture ${kind}/${name}`);
  return readInput(found) as unknown as Record<string, unknown> & {
    patient: { nationalId: string };
    performer?: { hprNumber: string };
    prescriber?: { hprNumber: string };
  };
}

describe('one trace from the clinic to the EHR and Kafka (PostgreSQL + Kafka + HAPI)', () => {
  const source = randomSource('it-tracing');
  const exporter = new InMemorySpanExporter();
  let tracing: RunningTracing | undefined;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let service: RunningService;
  // Synthetic (month + 80), as every fixture; the records are new by their random source.
  const prescription = { ...fixture('prescriptions', 'typical-4x4-strength'), source };
  const session = { ...fixture('hit-sessions', 'typical-4x4'), source };

  beforeAll(async () => {
    await loadProfiles(ehr);
    await registerPeople(
      ehr,
      session.patient.nationalId,
      [session.performer?.hprNumber, prescription.prescriber?.hprNumber].filter(
        (value): value is string => value !== undefined,
      ),
    );
    proxy = await recordingProxy(ehr);
    const loaded = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hit-bridge-tracing-')),
      DATABASE_URL: await databases.create(),
      PATIENT_KEY_SECRET: 'tracing-test-secret-0123456789abcdef',
      KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
      EHR_BASE_URL: proxy.baseUrl,
      EHR_RETRY_INITIAL_MS: '200',
      // No handover worker: its consumer group on the shared Kafka is other suites' business.
      ROLES: 'api,ehr,relay',
      LOG_LEVEL: 'silent',
      AUTH_MODE: 'off',
    });
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    tracing = await startTracing(loaded.config, { spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    service = await startService(loaded.config, silentLogger);
  });

  afterAll(async () => {
    await service.stop();
    await tracing?.shutdown();
    await new Promise((resolve) => proxy.server.close(resolve));
    await databases.dropAll();
  });

  it("continues the clinic's traceparent through the outbox to the EHR request, the Kafka publish and the record's headers", async () => {
    const prescriptionId = await post(service.url, 'prescriptions', prescription);
    expect((await waitAllSettled(service.url, [prescriptionId], 180_000)).get(prescriptionId)).toBe('delivered');
    const sentBefore = proxy.seen.length;

    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const sessionId = await post(service.url, 'hit-sessions', session, {
      traceparent: `00-${traceId}-${callerSpanId}-01`,
      tracestate: 'clinic=it',
    });
    expect((await waitAllSettled(service.url, [sessionId], 180_000)).get(sessionId)).toBe('delivered');

    // The record on Kafka, read back from the broker.
    const consumer = createKafkaEventBus({
      kafka: createKafka(peerEnv('KAFKA_BROKERS'), silentLogger),
      logger: silentLogger,
    });
    const events = await collectEvents(consumer, [TOPICS.records], (seen) =>
      seen.some((event) => event.value.subject === sessionId),
    ).finally(() => consumer.close());
    const record = events.find((event) => event.value.subject === sessionId);

    const inTrace = await poll(
      () => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId),
      (spans) => spans.some((span) => span.kind === SpanKind.PRODUCER),
      60_000,
      200,
    );
    const one = (kind: SpanKind, name: string | RegExp): ReadableSpan | undefined => {
      const found = inTrace.filter((span) => span.kind === kind && new RegExp(name).test(span.name));
      expect([kind, String(name), found.length]).toEqual([kind, String(name), 1]);
      return found[0];
    };
    const server = one(SpanKind.SERVER, /^POST \/v1\/hit-sessions$/);
    const delivery = one(SpanKind.CONSUMER, /^ehr-delivery$/);
    const publish = one(SpanKind.PRODUCER, `^publish ${TOPICS.records.replaceAll('.', '\\.')}$`);
    const clients = inTrace.filter((span) => span.kind === SpanKind.CLIENT);

    // Server span ← the clinic's span; ehr-delivery ← server; EHR client and publish ← ehr-delivery.
    expect(server?.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(delivery?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    expect(clients.map((span) => [span.name, span.parentSpanContext?.spanId])).toEqual([
      ['FHIR transaction', delivery?.spanContext().spanId],
    ]);
    expect(publish?.parentSpanContext?.spanId).toBe(delivery?.spanContext().spanId);
    expect(clients[0]?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'hitbridge.ehr.outcome': 'success',
    });

    // What HAPI got (through the proxy): the client span as parent, the clinic's tracestate along.
    const sentForSession = proxy.seen
      .slice(sentBefore)
      .filter((seen) => traceparentParts(seen.traceparent)?.traceId === traceId);
    expect(sentForSession).toEqual([
      {
        method: 'POST',
        traceparent: `00-${traceId}-${clients[0]?.spanContext().spanId ?? 'none'}-01`,
        tracestate: 'clinic=it',
      },
    ]);

    // The Kafka record: the publish span as parent, in the same trace.
    expect(record?.value.type).toBe(EVENT_TYPES.sessionRecorded);
    expect(traceparentParts(record?.headers.traceparent)).toEqual({
      traceId,
      parentId: publish?.spanContext().spanId,
    });
    expect(record?.headers.tracestate).toBe('clinic=it');

    // No span of the whole run names the patient.
    const exported = JSON.stringify(
      exporter
        .getFinishedSpans()
        .map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })),
    );
    expect(exported).not.toContain(session.patient.nationalId);
  });
});
