/**
 * Accept while busy: the accept path at a fixed offered load on a service (all roles, the
 * embedded defaults) that is, at the same time, delivering a backlog of submissions to the EHR
 * and relaying their events. Beside it, the same rate on a fresh service with no EHR configured
 * (as the accept part runs it), right before: nothing to deliver there, so it is the idle figure.
 * The backlog's progress during the busy window is read from the service's /metrics (outbox
 * backlog per queue, submissions delivered), which shows whether it was busy for the whole
 * window and not only at its start.
 */
import { randomBytes } from 'node:crypto';
import { pool, postUntilAccepted } from '../../test/support/workload.ts';
import { measureAccept, type AcceptFigures } from './accept.ts';
import { sessionWorkload } from './end-to-end.ts';
import type { BenchService } from './service.ts';

interface BusyProgress {
  /** Outbox jobs not yet done, ehr-delivery queue. */
  readonly deliveryBacklog: number;
  /** Outbox jobs not yet done, event-publish queue. */
  readonly relayBacklog: number;
  /** Submissions the EHR holds, since the service started. */
  readonly delivered: number;
}

export interface BusyFigures {
  readonly backlog: number;
  readonly idle: AcceptFigures;
  readonly busy: AcceptFigures;
  /** At the start and the end of the busy window. */
  readonly progress: { readonly start: BusyProgress; readonly end: BusyProgress };
  /** Busy p99 over idle p99. */
  readonly p99Ratio: number;
}

async function progressOf(service: BenchService): Promise<BusyProgress> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const value = (pattern: RegExp): number => {
    let sum = 0;
    for (const match of text.matchAll(pattern)) sum += Number(match[1]);
    return sum;
  };
  return {
    deliveryBacklog: value(/^hitbridge_outbox_backlog_jobs\{queue="ehr-delivery"\} (\S+)$/gm),
    relayBacklog: value(/^hitbridge_outbox_backlog_jobs\{queue="event-publish"\} (\S+)$/gm),
    delivered: value(/^hitbridge_submissions_delivered_total\{[^}]*\} (\S+)$/gm),
  };
}

export async function measureBusy(
  services: { readonly idle: BenchService; readonly busy: BenchService },
  options: {
    readonly backlog: number;
    readonly rate: number;
    readonly seconds: number;
    readonly warmupSeconds: number;
    readonly connections: number;
  },
): Promise<BusyFigures> {
  const accept = {
    rate: options.rate,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    connections: options.connections,
  };
  const idle = await measureAccept(services.idle, 'sqlite', {
    ...accept,
    source: `bench-busy-idle-${randomBytes(3).toString('hex')}`,
  });
  // The backlog goes in as fast as the service takes it; delivery starts with the first one.
  const sessions = sessionWorkload(options.backlog, `bench-busy-backlog-${randomBytes(3).toString('hex')}`);
  await pool(sessions, 16, (item) => postUntilAccepted(() => services.busy.url, item));
  const start = await progressOf(services.busy);
  const busy = await measureAccept(services.busy, 'sqlite', {
    ...accept,
    source: `bench-busy-${randomBytes(3).toString('hex')}`,
  });
  const end = await progressOf(services.busy);
  return {
    backlog: options.backlog,
    idle,
    busy,
    progress: { start, end },
    p99Ratio: idle.p99Ms > 0 ? Math.round((busy.p99Ms / idle.p99Ms) * 100) / 100 : Number.NaN,
  };
}
