import { runReadiness, type ReadinessCheck } from '../../../src/platform/readiness.ts';

const up = (name: string, critical = true): ReadinessCheck => ({ name, critical, check: () => Promise.resolve() });
const down = (name: string, critical = true): ReadinessCheck => ({
  name,
  critical,
  check: () => Promise.reject(new Error(`${name} refused the connection`)),
});
const hanging = (name: string): ReadinessCheck => ({
  name,
  critical: true,
  check: (signal) =>
    new Promise((_, reject) => {
      signal.addEventListener('abort', () => {
        reject(new Error('aborted'));
      });
    }),
});

describe('readiness', () => {
  it('is ready when every dependency answers', async () => {
    const report = await runReadiness([up('postgres'), up('kafka'), up('ehr', false)], 500);
    expect(report.status).toBe('ready');
    expect(report.checks.map((check) => check.status)).toEqual(['up', 'up', 'up']);
  });

  it('is unready when a critical dependency is down, and says which and why', async () => {
    const report = await runReadiness([up('postgres'), down('kafka')], 500);
    expect(report.status).toBe('unready');
    expect(report.checks.find((check) => check.name === 'kafka')).toMatchObject({
      status: 'down',
      error: 'kafka refused the connection',
    });
  });

  it('is only degraded when the EHR (non-critical) is down, so intake keeps accepting', async () => {
    const report = await runReadiness([up('postgres'), down('ehr', false)], 500);
    expect(report.status).toBe('degraded');
  });

  it('counts a dependency that does not answer in time as down', async () => {
    const report = await runReadiness([hanging('kafka')], 50);
    expect(report.status).toBe('unready');
    expect(report.checks[0]?.error).toBe('no answer within 50 ms');
  });
});
