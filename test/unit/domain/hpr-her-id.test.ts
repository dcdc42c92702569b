import { parseHerId } from '../../../src/domain/her-id.ts';
import { parseHprNumber } from '../../../src/domain/hpr-number.ts';

// Neither identifier has a documented check digit or length (docs/reference/terminology.md §3, UNCONFIRMED),
// so only "digits only" is enforced, plus bounds a deployment may pass.

describe('parseHprNumber', () => {
  test('accepts any string of digits and gives it the HPR system', () => {
    expect(parseHprNumber('9144900')).toEqual({
      ok: true,
      value: { id: '9144900', identifierSystem: 'urn:oid:2.16.578.1.12.4.1.4.4' },
    });
  });

  test.each([
    ['', 'empty'],
    ['12 345', 'a space'],
    ['HPR123', 'letters'],
    ['-1234', 'a sign'],
  ])('rejects %j (%s)', (input) => {
    expect(parseHprNumber(input).ok).toBe(false);
  });

  test('applies digit-count bounds only when the caller gives them', () => {
    expect(parseHprNumber('1234567890123').ok).toBe(true);
    expect(parseHprNumber('1234567890', { maxDigits: 9 })).toEqual({
      ok: false,
      reason: 'an HPR number must have at most 9 digits',
    });
    expect(parseHprNumber('123', { minDigits: 4 })).toEqual({
      ok: false,
      reason: 'an HPR number must have at least 4 digits',
    });
  });
});

describe('parseHerId', () => {
  test('accepts any string of digits and gives it the HER-id system', () => {
    expect(parseHerId('8094')).toEqual({
      ok: true,
      value: { id: '8094', identifierSystem: 'urn:oid:2.16.578.1.12.4.1.2' },
    });
  });

  test('rejects anything but digits, in words an integrator understands', () => {
    expect(parseHerId('80 94')).toEqual({
      ok: false,
      reason: 'a HER-id must be digits only, with no spaces or other characters',
    });
  });
});
