// `hit-bridge submissions list|summary` and `hit-bridge replay --status failed` as an operator runs
// them: the real command in a child process (Node's own ESM loader, as in the image), on a SQLite
// store another connection filled with failed and waiting submissions.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';

const NOW = new Date();
const dataDir = mkdtempSync(join(tmpdir(), 'hit-bridge-cli-submissions-'));
let store: Store;
const failed: string[] = [];

beforeAll(async () => {
  store = createSqliteStore({ file: join(dataDir, 'hit-bridge.db') });
  await store.migrate();
  for (let i = 0; i < 3; i += 1) {
    const id = randomUUID();
    const at = new Date(NOW.getTime() - (10 - i) * 60_000);
    await store.accept(
      {
        id,
        kind: 'fitness-tests',
        source: 'clinic-cli',
        inputId: `T-${String(i)}`,
        bodyHash: 'h',
        body: {},
        patientKey: 'P'.repeat(43),
        acceptedAt: at,
      },
      { queue: 'ehr-delivery', payload: null, runAt: at },
    );
    if (i < 2) failed.push(id);
  }
  const jobs = await store.claim('ehr-delivery', 'test', { now: NOW, leaseMs: 60_000, limit: 10 });
  for (const job of jobs) {
    if (failed.includes(job.submissionId)) {
      await store.fail(
        job,
        {
          status: 'failed',
          timeline: [
            {
              at: NOW,
              kind: 'failed',
              message: 'The EHR refused the record: HAPI-0450',
              detail: { httpStatus: 422, reason: 'ehr-refused' },
            },
          ],
        },
        NOW,
      );
    } else {
      await store.retryLater(job, NOW, {}, NOW);
    }
  }
});

afterAll(async () => {
  await store.close();
});

function cli(args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['src/cli/hit-bridge.ts', ...args], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, AUTH_MODE: 'off', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the on-call commands', () => {
  it('submissions list prints the failed ones, newest first, one JSON line each', () => {
    const listed = cli(['submissions', 'list', '--status', 'failed', '--source', 'clinic-cli', '--since', '1h']);
    expect(listed.status).toBe(0);
    const lines = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; failureReason: string });
    expect(lines.map((line) => line.id)).toEqual([...failed].reverse());
    expect(lines.every((line) => line.failureReason === 'ehr-refused')).toBe(true);
  });

  it('submissions summary counts them', () => {
    const summary = cli(['submissions', 'summary']);
    expect(JSON.parse(summary.stdout)).toMatchObject({
      counts: [
        { kind: 'fitness-tests', status: 'accepted', count: 1 },
        { kind: 'fitness-tests', status: 'failed', count: 2 },
      ],
      failedByReason: [{ reason: 'ehr-refused', count: 2 }],
    });
  });

  it('replay --status failed: a dry run counts, over REPLAY_MAX is refused with the count, the real run re-queues them once', async () => {
    expect(cli(['replay', '--status', 'failed', '--ehr-status', '422', '--dry-run'])).toMatchObject({
      status: 0,
      stdout: 'would re-queue 2 failed submission(s) (dry run: nothing changed)\n',
    });
    const refused = cli(['replay', '--status', 'failed'], { REPLAY_MAX: '1' });
    expect([refused.status, refused.stderr]).toEqual([
      1,
      expect.stringContaining('2 failed submissions match; one replay takes at most 1'),
    ]);
    for (const id of failed) expect((await store.getSubmission(id))?.status).toBe('failed');

    const replayed = cli(['replay', '--status', 'failed', '--error-text', 'hapi-0450']);
    expect(replayed.status).toBe(0);
    expect(replayed.stdout).toMatch(/^re-queued 2 failed submission\(s\) for delivery \(replay [0-9a-f-]{36}\)\n$/);
    for (const id of failed) expect((await store.getSubmission(id))?.status).toBe('accepted');
    expect(cli(['replay', '--status', 'failed'])).toMatchObject({
      status: 0,
      stdout: expect.stringContaining('re-queued 0') as unknown,
    });
  });
});
