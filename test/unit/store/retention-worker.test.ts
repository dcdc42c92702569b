import { retentionCutoffs, startRetentionWorker, sweepOnce } from '../../../src/store/retention-worker.ts';
import type { RetentionCutoffs } from '../../../src/store/store.ts';
import { silentLogger } from '../../support/silent-logger.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const DAY = 86_400_000;

describe('retention cutoffs', () => {
  it('are RETENTION_DAYS and RETENTION_FAILED_DAYS before now', () => {
    expect(retentionCutoffs(NOW, { deliveredDays: 30, failedDays: 90 }, 10)).toEqual({
      deliveredBefore: new Date(NOW.getTime() - 30 * DAY),
      failedBefore: new Date(NOW.getTime() - 90 * DAY),
      limit: 10,
    });
  });

  it('0 days means anything finished by now', () => {
    expect(retentionCutoffs(NOW, { deliveredDays: 0, failedDays: 0 }, 1).deliveredBefore).toEqual(NOW);
  });
});

describe('the retention sweep', () => {
  it('asks for batches until one comes back short, and counts what was erased', async () => {
    const calls: RetentionCutoffs[] = [];
    const answers = [['a', 'b'], ['c', 'd'], ['e']];
    const store = {
      erasePersonalData: (cutoffs: RetentionCutoffs) => {
        calls.push(cutoffs);
        return Promise.resolve(answers.shift() ?? []);
      },
    };
    const erased = await sweepOnce({
      store,
      policy: { deliveredDays: 30, failedDays: 90 },
      clock: () => NOW,
      logger: silentLogger,
      intervalMs: 1000,
      batchSize: 2,
    });
    expect(erased).toBe(5);
    expect(calls).toHaveLength(3);
    expect(calls[0]).toEqual(retentionCutoffs(NOW, { deliveredDays: 30, failedDays: 90 }, 2));
  });

  it('the worker sweeps at start and again each interval, survives a failing sweep, and stops when asked', async () => {
    let calls = 0;
    const store = {
      erasePersonalData: () => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('database away')) : Promise.resolve([]);
      },
    };
    const worker = startRetentionWorker({
      store,
      policy: { deliveredDays: 30, failedDays: 90 },
      clock: () => NOW,
      logger: silentLogger,
      intervalMs: 1000,
    });
    for (let i = 0; i < 300 && calls < 3; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await worker.stop();
    const after = calls;
    expect(after).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(after);
  });
});
