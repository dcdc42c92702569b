/**
 * The container image, without a Docker engine: hadolint on the Dockerfile, and the checks an
 * engine would only show at run time — the final stage copies everything the service reads from
 * its working directory, runs as a numeric non-root user under tini, and has a health check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PRODUCTION_ENVIRONMENT, PRODUCTION_NODE_FLAGS } from '../../bench/lib/service.ts';
import { run, tools } from './tools.ts';

const dockerfile = readFileSync('Dockerfile', 'utf8');
// Continuation lines joined, comments dropped: one instruction per entry.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const finalStage = instructions.slice(instructions.findLastIndex((line) => line.startsWith('FROM ')));
const copiedFromContext = finalStage
  .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
  .map((line) => line.split(/\s+/).at(-2) ?? '');
const dockerignore = readFileSync('.dockerignore', 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

describe('Dockerfile', () => {
  it('passes hadolint', () => {
    const linted = run(tools.hadolint(), ['--no-color', 'Dockerfile']);
    expect(linted.stdout + linted.stderr).toBe('');
    expect(linted.status).toBe(0);
  });

  it('copies what the service reads at run time (sources, mappings, contracts, profiles, the example recipient directory), and no tests', () => {
    expect(copiedFromContext.sort()).toEqual(['config', 'contracts', 'mappings', 'package.json', 'profiles', 'src']);
    for (const path of copiedFromContext) {
      expect(existsSync(path)).toBe(true);
      expect(dockerignore).not.toContain(path);
    }
    expect(dockerignore).toEqual(expect.arrayContaining(['**/*.test.ts', '.env', 'node_modules', 'test']));
  });

  it('installs production dependencies only, from the lock, running no install scripts, then applies patches/ with the pinned patch-package', () => {
    const install = instructions.find((line) => line.startsWith('RUN npm install'));
    expect(install).toMatch(/^RUN npm install --no-save --omit=dev --ignore-scripts\b/);
    const pinned = /patch-package@(\S+)/.exec(install ?? '')?.[1];
    const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> };
    expect(packageJson.devDependencies['patch-package']).toBe(pinned);
    expect(instructions).toContain('COPY patches ./patches');
  });

  it('runs the JavaScript tsc emits (tsconfig.emit.json), with the same node flags and environment as npm start and the bench, with Node 24 as user 1000 under tini, with a health check on /healthz', () => {
    expect(instructions.filter((line) => line.startsWith('ARG NODE_IMAGE='))).toEqual([
      'ARG NODE_IMAGE=node:24-bookworm-slim',
    ]);
    const emit = instructions.find((line) => line.startsWith('RUN npx') && line.includes(' tsc '));
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    expect(emit).toBe(
      `RUN npx --yes --package=typescript@${lock.packages['node_modules/typescript']?.version} tsc -p tsconfig.emit.json`,
    );
    const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(packageJson.scripts.start).toContain(
      `tsc -p tsconfig.emit.json && ${Object.entries(PRODUCTION_ENVIRONMENT)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')} node ${PRODUCTION_NODE_FLAGS.join(' ')} --env-file=dev.env dist/src/main.js`,
    );
    expect(finalStage).toContain('COPY --from=javascript /app/dist/src ./src');
    expect(finalStage).toContain('COPY --from=javascript /app/dist/mappings ./mappings');
    expect(finalStage).toContain('USER 1000:1000');
    expect(finalStage).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(finalStage).toContain(
      `CMD [${['node', ...PRODUCTION_NODE_FLAGS, 'src/main.js'].map((word) => JSON.stringify(word)).join(', ')}]`,
    );
    expect(finalStage.find((line) => line.startsWith('HEALTHCHECK'))).toContain('/healthz');
    expect(existsSync('src/main.ts')).toBe(true);
    const env = finalStage.find((line) => line.startsWith('ENV ')) ?? '';
    expect(env).toContain('DATA_DIR=/var/lib/hit-bridge');
    for (const [name, value] of Object.entries(PRODUCTION_ENVIRONMENT))
      expect(env.split(/\s+/)).toContain(`${name}=${value}`);
  });

  it('carries the OCI labels', () => {
    const labels = finalStage.find((line) => line.startsWith('LABEL ')) ?? '';
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });
});
