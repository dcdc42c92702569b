/**
 * `npm run demo` end to end on the real peers (Kafka, HAPI FHIR, PostgreSQL): the whole
 * St. Olavs-like cohort goes through hit-bridge, and every count the demo prints is checked
 * three ways — against the cohort it was made from, against HAPI (asked here, by this test),
 * and against Kafka (read here, with a consumer of this test's own, selecting the run's events by
 * their `source` rather than by the submission ids the demo used).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEMO_TOPICS,
  ehrCount,
  expectedEhrCounts,
  expectedPacketCount,
  expectedRecordCount,
  identifierSystem,
} from '../../demo/report.ts';
import { stOlavsCohort, type DemoPatient } from '../../demo/st-olavs-cohort.ts';
import { EVENT_TYPES, TOPICS } from '../../src/events/cloud-events.ts';
import { createKafka } from '../../src/events/kafka-client.ts';
import { createKafkaEventBus } from '../../src/events/kafka-event-bus.ts';
import { collectEvents } from '../support/collect-events.ts';
import { peerEnv } from '../support/peers-env.ts';
import { silentLogger } from '../support/silent-logger.ts';

interface DemoRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runDemo(outDir: string): Promise<DemoRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['demo/run.ts', '--exit', '--out', outDir], {
      env: {
        ...process.env,
        HIT_BRIDGE_PEERS: 'external',
        KAFKA_BROKERS: peerEnv('KAFKA_BROKERS'),
        EHR_BASE_URL: peerEnv('EHR_BASE_URL'),
        DATABASE_URL: peerEnv('DATABASE_URL'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** "  <name>   <number>" lines of one printed section (from its heading to the next blank line). */
function section(stdout: string, heading: string): Map<string, number> {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith(heading));
  if (start === -1) throw new Error(`the demo printed no "${heading}" section:\n${stdout}`);
  const values = new Map<string, number>();
  for (const line of lines.slice(start + 1)) {
    const match = /^ {2}(\S+(?: OBAB00)?)\s+(\d+)\b/.exec(line);
    if (match?.[1] === undefined) break;
    values.set(match[1], Number(match[2]));
  }
  return values;
}

describe('npm run demo', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'hit-bridge-demo-'));
  let run: DemoRun;
  let source: string;
  /** The cohort the demo ran, made again from the seeds it printed. */
  let cohort: DemoPatient[];

  beforeAll(async () => {
    run = await runDemo(outDir);
    const match = /source (demo-[0-9a-f]+) \(seed (\d+), identity seed (\d+)\)/.exec(run.stdout);
    source = match?.[1] ?? '';
    cohort = stOlavsCohort(source, { seed: Number(match?.[2]), identitySeed: Number(match?.[3]) });
  }, 20 * 60_000);

  it('runs the whole cohort and exits 0, every submission delivered', () => {
    expect({
      code: run.code,
      stderr: run.stderr,
    }).toEqual({ code: 0, stderr: '' });
    expect(source).toMatch(/^demo-/);
    // 24 patients, 17 men and 7 women, as in the study.
    expect(run.stdout).toContain('24 patients (17 men, 7 women, 32 ± 8 years)');
    expect(run.stdout).toContain(`EHR      ${expectedRecordCount(cohort)} delivered`);
    expect(run.stdout).toContain('handover 24 discharges: 24 delivered');
  });

  it('sends each consenting discharge to its Frisklivssentral as one schema-valid e-message, each answered AppRec OK', () => {
    const consenting = cohort.filter((patient) => patient.inputs.discharge.consent.frisklivssentral).length;
    expect(consenting).toBeGreaterThan(0);
    const printed = section(run.stdout, 'Norsk Helsenett');
    expect(printed.get('e-messages')).toBe(consenting);
    expect(printed.get('schema-valid')).toBe(consenting);
    expect(printed.get('apprec-ok')).toBe(consenting);
  });

  it('prints the EHR counts the cohort makes, and HAPI holds exactly those', async () => {
    const printed = section(run.stdout, 'In the EHR');
    const expected = expectedEhrCounts(cohort);
    const sessions = cohort.reduce((n, p) => n + p.inputs.sessions.length, 0);
    expect(expected.get('Procedure')).toBe(sessions);
    const ehr = peerEnv('EHR_BASE_URL');
    const system = identifierSystem(source);
    const inHapi = new Map<string, number>();
    for (const type of expected.keys()) inHapi.set(type, await ehrCount(ehr, type, system));
    expect(new Map([...printed].filter(([name]) => name !== 'Procedure OBAB00'))).toEqual(expected);
    expect(inHapi).toEqual(expected);
    // Every training session is a Procedure coded OBAB00.
    expect(printed.get('Procedure OBAB00')).toBe(sessions);
  });

  it('prints the events per topic that Kafka holds for the run', async () => {
    const printed = section(run.stdout, 'Events on Kafka');
    const expected = new Map<string, number>([
      [TOPICS.records, expectedRecordCount(cohort)],
      [TOPICS.deliveryFailures, 0],
      [TOPICS.handover, 24],
      [TOPICS.handoverPackets, expectedPacketCount(cohort)],
    ]);
    const bus = createKafkaEventBus({
      kafka: createKafka(peerEnv('KAFKA_BROKERS'), silentLogger),
      logger: silentLogger,
    });
    const ofRun = (events: { topic: string; value: Record<string, unknown> }[]) => {
      const ids = new Map<string, Set<string>>(DEMO_TOPICS.map((topic) => [topic, new Set<string>()]));
      for (const event of events) {
        if ((event.value.data as { source?: string } | undefined)?.source === source) {
          ids.get(event.topic)?.add(String(event.value.id));
        }
      }
      return new Map([...ids].map(([topic, seen]) => [topic, seen.size]));
    };
    try {
      const events = await collectEvents(
        bus,
        [...DEMO_TOPICS],
        (seen) => [...ofRun(seen)].every(([topic, n]) => n >= (expected.get(topic) ?? 0)),
        120_000,
      );
      expect(ofRun(events)).toEqual(expected);
      expect(printed).toEqual(expected);
      const packetTypes = events.filter((e) => e.topic === TOPICS.handoverPackets).map((e) => e.value.type);
      expect(new Set(packetTypes)).toEqual(new Set([EVENT_TYPES.handoverPacket]));
    } finally {
      await bus.close();
    }
  }, 180_000);

  it('writes one print-ready HTML file per handover packet, where it says', () => {
    const match = /Handover packets: (\d+) print-ready HTML files in (\S+)\/\n/.exec(run.stdout);
    const dir = match?.[2] ?? '';
    const files = readdirSync(dir).filter((file) => file.endsWith('.html'));
    expect(files).toHaveLength(Number(match?.[1]));
    expect(dir).toBe(join(outDir, 'handover'));
    const first = readFileSync(join(dir, 'D-P01-frisklivssentral.html'), 'utf8');
    expect(first).toMatch(/^<!DOCTYPE html>/i);
    expect(first).toContain('Treningsplan ved utskrivning');
  });

  it('names the metrics URL, and the counters there match what was posted', () => {
    expect(run.stdout).toMatch(/Metrics: http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const sessions = cohort.reduce((n, p) => n + p.inputs.sessions.length, 0);
    expect(run.stdout).toContain(`hitbridge_submissions_accepted_total{kind="hit-sessions"} ${sessions}`);
    expect(run.stdout).toContain(`hitbridge_submissions_delivered_total{kind="hit-sessions"} ${sessions}`);
    expect(run.stdout).toContain('hitbridge_submissions_accepted_total{kind="discharges"} 24');
    // A discharge counts as delivered when its handover is made.
    expect(run.stdout).toContain('hitbridge_submissions_delivered_total{kind="discharges"} 24');
  });

  it("keeps the cohort's national ids, names, phone numbers and e-mail addresses out of the service's whole log", () => {
    const log = readFileSync(join(outDir, 'hit-bridge.log'), 'utf8');
    // The whole run is in it: a line per delivery at least.
    expect(log.split('\n').filter((line) => line.includes('delivered to the EHR')).length).toBeGreaterThan(500);
    const personal = cohort.flatMap(({ inputs: { discharge } }) => [
      discharge.patient.nationalId,
      discharge.patient.phone ?? '',
      discharge.patient.email ?? '',
      discharge.recipients.trainingContact?.name ?? '',
      discharge.recipients.trainingContact?.phone ?? '',
      discharge.recipients.trainingContact?.email ?? '',
    ]);
    expect(personal.filter((value) => value !== '' && log.includes(value))).toEqual([]);
    // Given names are short words: only a whole word in a message or value would be a leak.
    const names = cohort.map(({ inputs }) => inputs.discharge.patient.givenName);
    expect(names.filter((name) => new RegExp(`[\\s"]${name}[\\s".,]`).test(log))).toEqual([]);
    // The id's digits, whatever the formatting: no run of 11 digits outside the UUIDs (submission
    // ids), whose last group can hold one (seen in CI: "…-51655540225a").
    const withoutUuids = log.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>');
    expect(withoutUuids.match(/(?<!\d)\d{11}(?!\d)/g) ?? []).toEqual([]);
  });
});
