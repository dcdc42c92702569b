import { adaptiveConcurrency, isOverload } from '../../../src/delivery/adaptive-concurrency.ts';

describe('the adaptive delivery concurrency', () => {
  it('starts at the maximum and stays there while the EHR answers in good time', () => {
    const limit = adaptiveConcurrency(8);
    for (let t = 0; t < 100; t += 1) limit.observe({ latencyMs: 200 + (t % 3) * 20, overloaded: false }, t * 50);
    expect(limit.current()).toBe(8);
  });

  it('halves on an overloaded answer, once per round trip, never below one', () => {
    const limit = adaptiveConcurrency(8);
    limit.observe({ latencyMs: 100, overloaded: false }, 0);
    limit.observe({ latencyMs: 100, overloaded: true }, 1_000);
    expect(limit.current()).toBe(4);
    // The requests already in flight answer from the old load: they do not cut again.
    limit.observe({ latencyMs: 100, overloaded: true }, 1_010);
    limit.observe({ latencyMs: 100, overloaded: true }, 1_020);
    expect(limit.current()).toBe(4);
    for (let t = 0; t < 10; t += 1) limit.observe({ latencyMs: 100, overloaded: true }, 2_000 + t * 1_000);
    expect(limit.current()).toBe(1);
  });

  it('grows back by about one per round of successes while latency holds, up to the maximum', () => {
    const limit = adaptiveConcurrency(8);
    limit.observe({ latencyMs: 100, overloaded: true }, 0);
    limit.observe({ latencyMs: 100, overloaded: true }, 1_000);
    expect(limit.current()).toBe(2);
    // Two rounds at a limit of 2: four successes → 3.
    for (let t = 0; t < 4; t += 1) limit.observe({ latencyMs: 100, overloaded: false }, 2_000 + t);
    expect(limit.current()).toBe(3);
    for (let t = 0; t < 200; t += 1) limit.observe({ latencyMs: 100, overloaded: false }, 3_000 + t);
    expect(limit.current()).toBe(8);
  });

  it('does not grow while answers take more than twice the best recent latency', () => {
    const limit = adaptiveConcurrency(8);
    limit.observe({ latencyMs: 100, overloaded: false }, 0);
    limit.observe({ latencyMs: 100, overloaded: true }, 1_000);
    for (let t = 0; t < 40; t += 1) limit.observe({ latencyMs: 900, overloaded: false }, 2_000 + t);
    expect(limit.current()).toBe(4);
  });

  it('counts 429, 503 and no answer as overload; other refusals and a missing token do not', () => {
    expect(isOverload({ httpStatus: 429 })).toBe(true);
    expect(isOverload({ httpStatus: 503 })).toBe(true);
    expect(isOverload({ httpStatus: undefined })).toBe(true);
    expect(isOverload({ httpStatus: 500 })).toBe(false);
    expect(isOverload({ httpStatus: 422 })).toBe(false);
    expect(isOverload({ httpStatus: undefined, stage: 'token' })).toBe(false);
  });
});
