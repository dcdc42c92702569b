/**
 * The SQLite adapter writes the accepts and audit entries asked for together in one transaction (one fsync
 * under synchronous = full); the outcomes themselves are pinned by the Store contract. Both
 * places the group commit runs: on the calling thread (an in-memory database) and on the write
 * thread a file-backed store hands its accepts and audit entries to.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSqliteStore } from '../../../src/store/sqlite-store.ts';
import type { NewJob, NewSubmission, Store } from '../../../src/store/store.ts';

const T0 = new Date('2026-03-02T08:00:00.000Z');

function candidate(): NewSubmission {
  const inputId = `session-${randomUUID()}`;
  return {
    id: randomUUID(),
    kind: 'hit-sessions',
    source: 'clinic-a',
    inputId,
    bodyHash: 'a'.repeat(64),
    body: { sessionId: inputId },
    patientKey: 'pk-3f9a1c',
    acceptedAt: T0,
  };
}

const job: Omit<NewJob, 'submissionId'> = { queue: 'ehr-delivery', payload: null, runAt: T0 };

describe.each([
  ['in memory, on the calling thread', false],
  ['in a file, on the write thread', true],
])('SQLite store: group commit of accepts and audit entries (%s)', (_, inFile) => {
  let batches: number[];
  let store: Store;
  let directory: string | undefined;

  beforeEach(async () => {
    batches = [];
    directory = inFile ? await mkdtemp(join(tmpdir(), 'hit-bridge-group-')) : undefined;
    store = createSqliteStore({
      file: directory === undefined ? ':memory:' : join(directory, 'hit-bridge.db'),
      onGroupCommit: (size) => batches.push(size),
    });
    await store.migrate();
  });

  afterEach(async () => {
    await store.close();
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  it('concurrent accepts share commits: fewer transactions than accepts, every accept in exactly one', async () => {
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.accept(candidate(), job)));
    expect(outcomes.every((outcome) => outcome.outcome === 'created')).toBe(true);
    expect(batches.length).toBeLessThan(50);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(50);
  });

  it('a batch holds at most 256 accepts; the rest go into the next commit', async () => {
    await Promise.all(Array.from({ length: 300 }, () => store.accept(candidate(), job)));
    expect(Math.max(...batches)).toBeLessThanOrEqual(256);
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(300);
  });

  it('accepts awaited one after another are each their own commit', async () => {
    for (let i = 0; i < 3; i += 1) await store.accept(candidate(), job);
    expect(batches).toEqual([1, 1, 1]);
  });

  it("a request's audit entry joins the same commit as the accepts beside it", async () => {
    const [first] = await Promise.all([
      store.accept(candidate(), job),
      store.recordAudit({
        at: T0,
        clientId: 'clinic-a',
        method: 'POST',
        route: '/v1/hit-sessions',
        status: 202,
        requestId: 'req-1',
      }),
      store.accept(candidate(), job),
    ]);
    expect(first.outcome).toBe('created');
    expect(batches).toEqual([3]);
    expect(await store.auditTrail({ limit: 10 })).toHaveLength(1);
  });

  it('closing the store writes the accepts already asked for before the connection goes', async () => {
    const pending = Promise.all([store.accept(candidate(), job), store.accept(candidate(), job)]);
    await store.close();
    expect((await pending).map((outcome) => outcome.outcome)).toEqual(['created', 'created']);
    expect(batches).toEqual([2]);
  });
});

describe('SQLite store: closing from a process with nothing else to do', () => {
  // The write thread is unref'd while no write waits for it, so it does not keep an idle process
  // alive; the answers to the last writes arrive while close() waits for the thread's exit, and
  // must not unref it then, or the process ends with close() unsettled and the connection open.
  it('the process stays alive until close() has settled, with a write still on its way', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'hit-bridge-close-'));
    const script = join(directory, 'close-last.ts');
    const store = new URL('../../../src/store/sqlite-store.ts', import.meta.url).href;
    await writeFile(
      script,
      [
        `import { createSqliteStore } from ${JSON.stringify(store)};`,
        `const store = createSqliteStore({ file: ${JSON.stringify(join(directory, 'hit-bridge.db'))} });`,
        'await store.migrate();',
        "void store.recordAudit({ at: new Date(), clientId: 'clinic-a', method: 'POST', route: '/v1/hit-sessions', status: 202, requestId: 'req-1' });",
        'await store.close();',
        "console.log('closed');",
      ].join('\n'),
    );
    try {
      // Without the fix this ended "unsettled top-level await" (exit 13) in 4 of 5 runs.
      for (let run = 0; run < 3; run += 1) {
        const { stdout } = await promisify(execFile)(process.execPath, [script]);
        expect(stdout.trim()).toBe('closed');
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
