import { median, spreadOf } from '../../../bench/lib/stats.ts';

describe('bench statistics', () => {
  it('takes the middle of an odd count and the mean of the two middle values of an even one, whatever the order', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  it('gives the slowest and fastest', () => {
    expect(spreadOf([3, 9, 1])).toEqual([1, 9]);
  });
});
