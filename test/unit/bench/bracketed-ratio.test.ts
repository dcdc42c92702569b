import { bracketedRatio } from '../../../bench/lib/end-to-end.ts';

const run = (seconds: number) => ({ n: 100, concurrency: 8, seconds, perSecond: 100 / seconds, failed: 0 });

describe('the end-to-end ratio against direct runs before and after the bridge', () => {
  it('compares the bridge with the mean of the two direct times, so HAPI slowing down between them is not charged to the bridge', () => {
    // HAPI took 10 s before and 12 s after; the bridge's 11.5 s sits within that drift.
    expect(bracketedRatio(run(10), run(12), run(11.5))).toBe(0.96);
    // Against the run before alone the same bridge would read 0.87.
    expect(bracketedRatio(run(10), undefined, run(11.5))).toBe(0.87);
  });

  it('reads above 1 when the bridge beats the direct client', () => {
    expect(bracketedRatio(run(20), run(20), run(16))).toBe(1.25);
  });
});
