/**
 * A fresh machine, as far as one test can make one: the repository cloned into an empty folder,
 * every cache (npm, Go, pip, hit-bridge's own tool cache) an empty folder too, and the README's
 * test-setup step run from nothing — `npm install`, then `npm run test:setup`, which `npm test`
 * runs first. The suite itself is not run a second time; the install is, in full (minutes: Go
 * builds helm and kubeconform from cold caches).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = mkdtempSync(join(tmpdir(), 'hit-bridge-fresh-'));
const repo = join(root, 'repo');
const caches = {
  npm_config_cache: join(root, 'cache', 'npm'),
  HIT_BRIDGE_CACHE: join(root, 'cache', 'hit-bridge'),
  XDG_CACHE_HOME: join(root, 'cache', 'xdg'),
  GOPATH: join(root, 'cache', 'go'),
  GOMODCACHE: join(root, 'cache', 'go', 'pkg', 'mod'),
  GOCACHE: join(root, 'cache', 'go-build'),
  PIP_CACHE_DIR: join(root, 'cache', 'pip'),
};
// npm's own scripts put node_modules/.bin first on PATH: a clone must not find this checkout's.
const PATH = (process.env.PATH ?? '')
  .split(':')
  .filter((entry) => !entry.includes('node_modules'))
  .join(':');
// Nor the npm_* settings of an npm script that started jest.
const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
const env = { ...inherited, ...caches, PATH };

function inRepo(command: string, args: readonly string[]) {
  const result = spawnSync(command, args, { cwd: repo, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

afterAll(() => {
  // Go leaves its module cache read-only; as anyone but root it could not be removed otherwise.
  spawnSync('chmod', ['-R', 'u+w', root]);
  rmSync(root, { recursive: true, force: true });
});

describe("the README's test setup on a fresh clone with empty caches", () => {
  let install: { status: number | null; output: string };

  beforeAll(() => {
    const cloned = spawnSync('git', ['clone', '--quiet', process.cwd(), repo], { encoding: 'utf8' });
    expect(cloned.stderr).toBe('');
    install = inRepo('npm', ['install']);
  }, 20 * 60_000);

  it('npm install succeeds, applies the dependency patches and warns about nothing but the Node npm itself runs on', () => {
    expect(install.status).toBe(0);
    expect(install.output).toContain('kafkajs@2.2.4 ✔');
    // EBADENGINE compares dependencies' engines with the Node that runs npm, not the project's
    // Node 24 (docs/adr/0023): on a machine whose own Node is 24 it does not appear either.
    const warnings = install.output.split('\n').filter((line) => /^npm warn/i.test(line));
    expect(warnings.filter((line) => !/^npm warn EBADENGINE/.test(line))).toEqual([]);
    const npmsNode = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout.trim();
    if (Number(/^v(\d+)/.exec(npmsNode)?.[1]) >= 24) expect(warnings).toEqual([]);
  });

  it(
    'npm run test:setup installs every tool the tests need into the empty caches, and a second run installs nothing',
    () => {
      const first = inRepo('npm', ['run', '-s', 'test:setup']);
      // The output is part of the failure message, so a failed setup says why.
      expect(`${String(first.status)}\n${first.output}`).toMatch(/^0\n/);
      const cache = caches.HIT_BRIDGE_CACHE;
      for (const tool of ['bin/helm', 'bin/kubeconform', 'venv-deploy/bin/hadolint', 'venv/bin/schemathesis']) {
        expect(existsSync(join(cache, tool))).toBe(true);
      }
      const second = inRepo('npm', ['run', '-s', 'test:setup']);
      expect(second.status).toBe(0);
      expect(second.output).not.toMatch(/installing|building/);
    },
    30 * 60_000,
  );
});
