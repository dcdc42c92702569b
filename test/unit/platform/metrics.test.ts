import { createMetrics, METRIC_NAMES, type BacklogSource } from '../../../src/platform/metrics.ts';

/** The sample lines of one metric in the text Prometheus reads (no HELP/TYPE). */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

/** The value of an unlabelled series, parsed as Prometheus does (prom-client writes NaN as "Nan"; Go's ParseFloat ignores case). */
function valueOf(text: string, name: string): number | undefined {
  const [line, ...more] = samples(text, name);
  if (line === undefined || more.length > 0) return undefined;
  const value = line.slice(name.length + 1);
  return /^nan$/i.test(value) ? Number.NaN : Number(value);
}

describe('metrics', () => {
  it('declares every series under the names dashboards use, and nothing else of its own', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.readCircuitStateFrom(() => 'closed');
    metrics.readHandoverConsumerLagFrom(() => Promise.resolve(0));
    metrics.readHandoversAwaitingAckFrom(() => Promise.resolve(0));
    const names = (await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name).sort();
    expect(names).toEqual(Object.values(METRIC_NAMES).sort());
  });

  it('counts submissions by kind, every known kind from 0, and an unknown kind as "other"', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.submissionAccepted('hit-sessions');
    metrics.submissionAccepted('hit-sessions');
    metrics.submissionDelivered('hit-sessions');
    metrics.submissionFailed('fitness-tests');
    metrics.submissionAccepted('15828012344 Kari Nordmann');
    const { body } = await metrics.scrape();
    expect(samples(body, METRIC_NAMES.submissionsAccepted)).toEqual([
      'hitbridge_submissions_accepted_total{kind="hit-sessions"} 2',
      'hitbridge_submissions_accepted_total{kind="fitness-tests"} 0',
      'hitbridge_submissions_accepted_total{kind="prescriptions"} 0',
      'hitbridge_submissions_accepted_total{kind="discharges"} 0',
      'hitbridge_submissions_accepted_total{kind="other"} 1',
    ]);
    expect(samples(body, METRIC_NAMES.submissionsDelivered)).toContain(
      'hitbridge_submissions_delivered_total{kind="hit-sessions"} 1',
    );
    expect(samples(body, METRIC_NAMES.submissionsFailed)).toContain(
      'hitbridge_submissions_failed_total{kind="fitness-tests"} 1',
    );
    expect(body).not.toContain('Kari');
    expect(body).not.toContain('15828012344');
  });

  it('reads the outbox backlog at scrape time, once per interval however many scrapes come', async () => {
    let clock = 0;
    let reads = 0;
    const source: BacklogSource = () => {
      reads += 1;
      return Promise.resolve({
        'ehr-delivery': { count: 3 + reads, oldestAgeMs: 1_500 },
        'event-publish': { count: 0, oldestAgeMs: 0 },
      });
    };
    const metrics = createMetrics({ defaultMetrics: false, minCollectIntervalMs: 1_000, now: () => clock });
    metrics.readBacklogFrom(source);
    const scrapes = await Promise.all([metrics.scrape(), metrics.scrape(), metrics.scrape()]);
    expect(reads).toBe(1);
    for (const { body } of scrapes) {
      expect(samples(body, METRIC_NAMES.outboxBacklog)).toEqual([
        'hitbridge_outbox_backlog_jobs{queue="ehr-delivery"} 4',
        'hitbridge_outbox_backlog_jobs{queue="event-publish"} 0',
      ]);
      expect(samples(body, METRIC_NAMES.outboxOldestAge)).toContain(
        'hitbridge_outbox_oldest_job_age_seconds{queue="ehr-delivery"} 1.5',
      );
    }
    clock = 1_000;
    const { body } = await metrics.scrape();
    expect(reads).toBe(2);
    expect(samples(body, METRIC_NAMES.outboxBacklog)).toContain(
      'hitbridge_outbox_backlog_jobs{queue="ehr-delivery"} 5',
    );
  });

  it('shows no backlog rather than a stale one while the store cannot be read, and asks again next scrape', async () => {
    let up = true;
    let clock = 0;
    const metrics = createMetrics({ defaultMetrics: false, minCollectIntervalMs: 1_000, now: () => clock });
    metrics.readBacklogFrom(() =>
      up
        ? Promise.resolve({
            'ehr-delivery': { count: 2, oldestAgeMs: 10 },
            'event-publish': { count: 1, oldestAgeMs: 5 },
          })
        : Promise.reject(new Error('connection refused')),
    );
    expect(samples((await metrics.scrape()).body, METRIC_NAMES.outboxBacklog)).toHaveLength(2);
    up = false;
    clock = 1_000;
    expect(samples((await metrics.scrape()).body, METRIC_NAMES.outboxBacklog)).toEqual([]);
    up = true;
    expect(samples((await metrics.scrape()).body, METRIC_NAMES.outboxBacklog)).toHaveLength(2);
  });

  it('reads the handover consumer lag and the packets awaiting acknowledgement from the hooks they are given', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let body = (await metrics.scrape()).body;
    // Not wired (no handover role in this process): no sample at all, rather than a misleading 0.
    expect(samples(body, METRIC_NAMES.handoverConsumerLag)).toEqual([]);
    metrics.readHandoverConsumerLagFrom(() => Promise.resolve(7));
    metrics.readHandoversAwaitingAckFrom(() => Promise.resolve(2));
    body = (await metrics.scrape()).body;
    expect(samples(body, METRIC_NAMES.handoverConsumerLag)).toEqual(['hitbridge_handover_consumer_lag_records 7']);
    expect(samples(body, METRIC_NAMES.handoversAwaitingAck)).toEqual([
      'hitbridge_handovers_awaiting_acknowledgement 2',
    ]);
  });

  it('shows NaN, not 0, for a gauge whose source failed, and reads it again on the next scrape', async () => {
    let clock = 0;
    let lag: () => Promise<number> = () => Promise.reject(new Error('broker unreachable'));
    const metrics = createMetrics({ defaultMetrics: false, minCollectIntervalMs: 1_000, now: () => clock });
    metrics.readHandoverConsumerLagFrom(() => lag());
    expect(valueOf((await metrics.scrape()).body, METRIC_NAMES.handoverConsumerLag)).toBeNaN();
    lag = () => Promise.resolve(3);
    // A failed read is not kept for the interval: the very next scrape asks again.
    expect(valueOf((await metrics.scrape()).body, METRIC_NAMES.handoverConsumerLag)).toBe(3);
    clock = 1_000;
    lag = () => Promise.reject(new Error('broker unreachable'));
    expect(valueOf((await metrics.scrape()).body, METRIC_NAMES.handoverConsumerLag)).toBeNaN();
  });

  it('shows NaN for a source that does not answer in time, and the other series with it', async () => {
    const metrics = createMetrics({ defaultMetrics: false, readTimeoutMs: 50 });
    metrics.readHandoverConsumerLagFrom(() => new Promise<number>(() => undefined));
    metrics.readHandoversAwaitingAckFrom(() => Promise.resolve(1));
    metrics.submissionAccepted('discharges');
    const { body } = await metrics.scrape();
    expect(valueOf(body, METRIC_NAMES.handoverConsumerLag)).toBeNaN();
    expect(valueOf(body, METRIC_NAMES.handoversAwaitingAck)).toBe(1);
    expect(samples(body, METRIC_NAMES.submissionsAccepted)).toContain(
      'hitbridge_submissions_accepted_total{kind="discharges"} 1',
    );
  });

  it('times event publishes by outcome', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.eventPublish('success', 0.004);
    metrics.eventPublish('failure', 3);
    const { body } = await metrics.scrape();
    expect(samples(body, `${METRIC_NAMES.eventPublishDuration}_count`)).toEqual([
      'hitbridge_event_publish_duration_seconds_count{outcome="success"} 1',
      'hitbridge_event_publish_duration_seconds_count{outcome="failure"} 1',
    ]);
  });

  it('includes Node process metrics by default', async () => {
    const { body } = await createMetrics().scrape();
    expect(body).toMatch(/^process_cpu_seconds_total /m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });
});
