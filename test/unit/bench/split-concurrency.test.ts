import { splitConcurrency } from '../../../bench/lib/end-to-end.ts';

describe('the end-to-end bench shares the client concurrency out between the ehr workers', () => {
  it('gives the workers together exactly the direct client concurrency, as evenly as whole numbers allow', () => {
    expect(splitConcurrency(8, 1)).toEqual([8]);
    expect(splitConcurrency(8, 2)).toEqual([4, 4]);
    expect(splitConcurrency(8, 3)).toEqual([3, 3, 2]);
    for (const [total, workers] of [
      [8, 2],
      [7, 2],
      [16, 5],
    ] as const) {
      expect(splitConcurrency(total, workers).reduce((sum, each) => sum + each, 0)).toBe(total);
    }
  });

  it('leaves no worker without a slot when there are more workers than the client has requests', () => {
    expect(splitConcurrency(1, 2)).toEqual([1, 1]);
  });
});
