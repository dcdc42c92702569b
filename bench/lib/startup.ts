/**
 * Start-up and idle memory: `hit-bridge serve` on the embedded defaults (SQLite in a fresh
 * DATA_DIR, events in the store's own log, no EHR, no tracing), spawned `runs` times one after
 * the other. Each run times the spawn to the first /readyz 200 (polled every 10 ms, so a figure
 * is at most that late) and reads the resident set size `settleMs` after ready, before anything
 * has been asked of the service. Measured for the built JavaScript with the production node flags
 * and environment (what `npm start` and the image run) and for the TypeScript sources under type stripping
 * without them (`npm run hit-bridge`, the tests), alternating run by run so both see the same
 * machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './accept.ts';
import { startBenchService } from './service.ts';
import { median } from './stats.ts';

/** How a variant is started: its entry point, Node's own flags before it, and its environment. */
export interface StartupVariant {
  readonly entry: string;
  readonly nodeFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export interface StartupFigures {
  /** 'built JS' or 'TypeScript sources'. */
  readonly variant: string;
  readonly runs: number;
  /** How long after ready the idle RSS was read. */
  readonly settleMs: number;
  readonly medianReadyMs: number;
  readonly maxReadyMs: number;
  readonly medianIdleRssMB: number;
  readonly maxIdleRssMB: number;
  /** Every run's figures, in order. */
  readonly readyMs: readonly number[];
  readonly idleRssMB: readonly number[];
}

const POLL_MS = 10;

/** Emits the JavaScript as the image's build stage does (tsconfig.emit.json), into `outDir`. */
export function buildJavaScript(outDir: string): string {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.emit.json', '--outDir', outDir], {
    stdio: 'inherit',
  });
  return join(outDir, 'src', 'cli', 'hit-bridge.js');
}

export async function measureStartup(options: {
  readonly runs: number;
  readonly workDir: string;
  readonly settleMs: number;
  /** Each variant measured, by name. */
  readonly variants: Readonly<Record<string, StartupVariant>>;
}): Promise<StartupFigures[]> {
  mkdirSync(options.workDir, { recursive: true });
  const measured = new Map(
    Object.keys(options.variants).map((variant) => [variant, { ready: [] as number[], rss: [] as number[] }]),
  );
  for (let run = 1; run <= options.runs; run += 1) {
    for (const [variant, { entry, nodeFlags, env }] of Object.entries(options.variants)) {
      const name = `startup-${variant.replace(/\W+/g, '-')}-${run}`;
      const service = await startBenchService({
        name,
        entry,
        ...(nodeFlags === undefined ? {} : { nodeFlags }),
        env: { ...env, DATA_DIR: join(options.workDir, name) },
        logDir: options.workDir,
        waitFor: '/readyz',
        pollMs: POLL_MS,
      });
      try {
        const figures = measured.get(variant);
        figures?.ready.push(round(service.readyMs, 0));
        await new Promise((resolve) => setTimeout(resolve, options.settleMs));
        figures?.rss.push(round(service.rssMB(), 1));
      } finally {
        await service.stop();
      }
    }
  }
  return [...measured].map(([variant, { ready, rss }]) => ({
    variant,
    runs: options.runs,
    settleMs: options.settleMs,
    medianReadyMs: median(ready),
    maxReadyMs: Math.max(...ready),
    medianIdleRssMB: median(rss),
    maxIdleRssMB: Math.max(...rss),
    readyMs: ready,
    idleRssMB: rss,
  }));
}
