import { invalidInput, normalize, notFound, Problem } from '../../../src/platform/problem.ts';

describe('problem details', () => {
  it('serialises as RFC 9457 with the fields and rules broken', () => {
    const problem = invalidInput([
      { field: '/patient/nationalId', rule: 'check-digits', message: 'the check digits do not match' },
    ]);
    expect(JSON.parse(JSON.stringify(problem))).toEqual({
      type: 'https://hit-bridge.no/problems/invalid-input',
      title: 'The input is not valid',
      status: 422,
      detail: '1 field breaks the rules: /patient/nationalId',
      errors: [{ field: '/patient/nationalId', rule: 'check-digits', message: 'the check digits do not match' }],
    });
  });

  it('keeps a Problem as it is', () => {
    const problem = notFound('no such submission');
    expect(normalize(problem)).toBe(problem);
  });

  it('turns anything else into a 500 that does not leak the original message', () => {
    const problem = normalize(new Error('password=hunter2 at db'));
    expect(problem).toBeInstanceOf(Problem);
    expect(problem.status).toBe(500);
    expect(JSON.stringify(problem)).not.toContain('hunter2');
    expect(problem.retriable).toBe(true);
  });
});
