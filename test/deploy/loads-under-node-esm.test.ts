/**
 * Jest runs our TypeScript as CommonJS, where a named import from a CommonJS package always
 * resolves. Node's own ESM loader, which runs the service, sees only the names it can detect
 * statically: `import { KafkaJSError } from 'kafkajs'` passed every jest suite and failed at the
 * service's start. This loads the whole module graph the way `node src/main.ts` (and the image,
 * ADR 0008) does.
 */
import { spawnSync } from 'node:child_process';

const ENTRY_POINTS = ['src/service.ts', 'src/events/create-bus.ts', 'src/cli/args.ts', 'demo/report.ts'];

describe('the service under Node ESM', () => {
  it.each(ENTRY_POINTS)('%s and everything it imports load without an import error', (entry) => {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', `await import('./${entry}')`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect({ status: result.status, stderr: result.stderr.replace(/.*ExperimentalWarning.*\n?/g, '') }).toEqual({
      status: 0,
      stderr: '',
    });
  });
});
