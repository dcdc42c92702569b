#!/usr/bin/env node
/**
 * The hit-bridge command: `serve` runs the service, `replay` re-queues a failed submission (or
 * every one a filter matches), `submissions` lists and counts them, `tail` follows the event
 * stream, `audit` prints the audit log, `helseid token` shows what HelseID issues. Configuration
 * comes from the environment, as for the service.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.ts';
import { createHelseIdClient } from '../delivery/helseid.ts';
import { helseIdSettings } from '../delivery/helseid-settings.ts';
import { TOPICS } from '../events/cloud-events.ts';
import { createConfiguredBus } from '../events/create-bus.ts';
import { loadConfig, type Config } from '../platform/config.ts';
import { createLogger } from '../platform/logger.ts';
import { createConfiguredStore } from '../store/create-store.ts';
import { listView, summaryView } from '../intake/submission-browser.ts';
import { parseArgs, resolveFilter, resolveSince, USAGE } from './args.ts';
import { auditLine } from './audit-line.ts';
import { eventLine } from './event-line.ts';
import { helseIdTokenReport } from './helseid-token.ts';

const EXIT_USAGE = 64;
const EXIT_CONFIG = 78;

const parsed = parseArgs(process.argv.slice(2));
if (!parsed.ok) {
  process.stderr.write(`hit-bridge: ${parsed.error}\n\n${USAGE}\n`);
  process.exit(EXIT_USAGE);
}
const command = parsed.value;

function configOrExit(): Config {
  const loaded = loadConfig(process.env);
  if (loaded.ok) return loaded.config;
  for (const error of loaded.errors) process.stderr.write(`hit-bridge: configuration error: ${error}\n`);
  process.exit(EXIT_CONFIG);
}

/** Runs `work` on the configured store (migrated), closing it whatever happens. */
async function withStore(work: (store: Store, config: Config) => Promise<void>): Promise<void> {
  const config = configOrExit();
  const configured = await createConfiguredStore(
    config,
    createLogger({ level: 'warn', pretty: false, destination: process.stderr }),
  );
  try {
    await configured.store.migrate();
    await work(configured.store, config);
  } finally {
    await configured.close();
  }
}

function refuseTooMany(count: number, maximum: number): void {
  process.stderr.write(
    `hit-bridge: ${count} failed submissions match; one replay takes at most ${maximum} (REPLAY_MAX): narrow the filter; nothing re-queued\n`,
  );
  process.exitCode = 1;
}

switch (command.command) {
  case 'help':
    process.stdout.write(`${USAGE}\n`);
    break;
  case 'serve':
    if (command.roles !== undefined) process.env.ROLES = command.roles;
    await import('../main.ts');
    break;
  case 'replay':
    await withStore(async (store) => {
      const submission = await store.getSubmission(command.submissionId);
      if (submission === undefined) {
        process.stderr.write(`hit-bridge: no submission ${command.submissionId}\n`);
        process.exitCode = 1;
      } else if (submission.bodyErasedAt !== undefined) {
        process.stderr.write(
          `hit-bridge: ${command.submissionId} cannot be replayed: its content was erased under the retention rules ` +
            `on ${submission.bodyErasedAt.toISOString()}; the sending system must send it again under a new id\n`,
        );
        process.exitCode = 1;
      } else if (await store.replay(command.submissionId, new Date())) {
        process.stdout.write(
          `re-queued ${command.submissionId} (${submission.kind} ${submission.source}/${submission.inputId}) for delivery\n`,
        );
      } else {
        process.stderr.write(
          `hit-bridge: ${command.submissionId} is ${submission.status}, not failed: nothing to replay\n`,
        );
        process.exitCode = 1;
      }
    });
    break;
  case 'replay-matching':
    await withStore(async (store, config) => {
      const filter = resolveFilter(command.filter, new Date());
      const count = await store.countReplayable(filter);
      if (count > config.REPLAY_MAX) {
        refuseTooMany(count, config.REPLAY_MAX);
      } else if (command.dryRun) {
        process.stdout.write(`would re-queue ${count} failed submission(s) (dry run: nothing changed)\n`);
      } else {
        const replayId = randomUUID();
        const outcome = await store.replayMatching(filter, { replayId, maximum: config.REPLAY_MAX, now: new Date() });
        if (outcome.outcome === 'too-many') refuseTooMany(outcome.count, config.REPLAY_MAX);
        else
          process.stdout.write(`re-queued ${outcome.count} failed submission(s) for delivery (replay ${replayId})\n`);
      }
    });
    break;
  case 'submissions-list':
    await withStore(async (store) => {
      const filter = resolveFilter(command.filter, new Date());
      let written = 0;
      let after: { acceptedAt: Date; id: string } | undefined;
      for (;;) {
        const want = Math.min(500, command.limit - written);
        const page = await store.listSubmissions(filter, { after, limit: want });
        for (const item of page) process.stdout.write(`${JSON.stringify(listView(item))}\n`);
        written += page.length;
        after = page.at(-1);
        if (page.length < want || written >= command.limit) break;
      }
    });
    break;
  case 'submissions-summary':
    await withStore(async (store) => {
      process.stdout.write(`${JSON.stringify(summaryView(await store.summarizeSubmissions(), new Date()), null, 2)}\n`);
    });
    break;
  case 'audit':
    await withStore(async (store) => {
      const since = command.since === undefined ? undefined : resolveSince(command.since, new Date());
      let afterSeq = 0;
      for (;;) {
        const page = await store.auditTrail({ since, submissionId: command.submissionId, afterSeq, limit: 1000 });
        for (const entry of page) process.stdout.write(`${auditLine(entry)}\n`);
        const last = page.at(-1);
        if (last === undefined || page.length < 1000) break;
        afterSeq = last.seq;
      }
    });
    break;
  case 'tail': {
    const config = configOrExit();
    const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });
    const configured = await createConfiguredStore(config, logger);
    await configured.store.migrate();
    const configuredBus = await createConfiguredBus(config, configured.store, logger, () => new Date());
    const { bus } = configuredBus;
    const topics = command.topics.length > 0 ? command.topics : [TOPICS.records, TOPICS.deliveryFailures];
    // A group of its own: following the stream must never take events from the real consumers.
    const subscription = await bus.subscribe({
      groupId: `hit-bridge-tail-${randomUUID()}`,
      topics,
      fromBeginning: command.fromBeginning,
      handler: (event) => {
        process.stdout.write(`${eventLine(event)}\n`);
        return Promise.resolve();
      },
    });
    process.stderr.write(`following ${topics.join(', ')} (Ctrl-C to stop)\n`);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        void (async () => {
          await subscription.stop();
          await configuredBus.close();
          await configured.close();
        })();
      });
    }
    break;
  }
  case 'handover-render-example': {
    const { exampleHandoverMessage } = await import('../handover/edi/example-handover.ts');
    process.stdout.write(`${(await exampleHandoverMessage()).xml}\n`);
    break;
  }
  case 'handover-render-discharge': {
    // From the running service, not the store: the message needs the EHR, and the route keeps the
    // personal data behind the admin scope and in the audit log.
    const config = configOrExit();
    const base = (process.env.HIT_BRIDGE_URL ?? `http://127.0.0.1:${String(config.PORT)}`).replace(/\/+$/, '');
    const token = process.env.HIT_BRIDGE_TOKEN;
    const response = await fetch(`${base}/v1/discharges/${command.submissionId}/handover-message`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    const text = await response.text();
    if (response.ok) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    else {
      let detail = text;
      try {
        const problem = JSON.parse(text) as { title?: string; detail?: string };
        detail = [problem.title, problem.detail].filter(Boolean).join(': ');
      } catch {
        // Not a problem+json answer: its text is all there is.
      }
      process.stderr.write(`hit-bridge: ${String(response.status)} from ${base}: ${detail}\n`);
      process.exitCode = 1;
    }
    break;
  }
  case 'helseid-token': {
    const config = configOrExit();
    let settings;
    try {
      settings = helseIdSettings(config);
    } catch (error) {
      process.stderr.write(`hit-bridge: configuration error: ${(error as Error).message}\n`);
      process.exit(EXIT_CONFIG);
    }
    if (settings === undefined) {
      process.stderr.write('hit-bridge: configuration error: HELSEID_ISSUER is not set\n');
      process.exit(EXIT_CONFIG);
    }
    // The refusal is printed below in words; the log would only repeat it.
    const logger = createLogger({ level: 'error', pretty: false, destination: process.stderr });
    const report = await helseIdTokenReport(
      createHelseIdClient(settings, { logger, timeoutMs: config.EHR_TIMEOUT_MS }),
      command.audience,
      command.dryRun,
    );
    if (report.ok) process.stdout.write(`${report.json}\n`);
    else {
      process.stderr.write(`hit-bridge: no token: ${report.error}\n`);
      process.exitCode = 1;
    }
    break;
  }
}
