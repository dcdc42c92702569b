import { createPatientKeyer, PATIENT_KEY_PATTERN } from '../../../src/events/patient-key.ts';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

// Synthetic national ids (month + 80): never a real person.
const ID_A = withCheckDigits('018190123');
const ID_B = withCheckDigits('158275456');
const SECRET = 'test-secret-0123456789abcdef-not-for-production';

describe('patient key', () => {
  it('is stable: the same id and secret always give the same key', () => {
    const key = createPatientKeyer(SECRET);
    expect(key(ID_A)).toBe(key(ID_A));
    expect(createPatientKeyer(SECRET)(ID_A)).toBe(key(ID_A));
    expect(createPatientKeyer(Buffer.from(SECRET))(ID_A)).toBe(key(ID_A));
  });

  it('depends on the secret and on the id', () => {
    const key = createPatientKeyer(SECRET);
    expect(createPatientKeyer(`${SECRET}x`)(ID_A)).not.toBe(key(ID_A));
    expect(key(ID_B)).not.toBe(key(ID_A));
  });

  it('is 43 base64url characters that never equal or contain the id or a run of 11 digits', () => {
    const key = createPatientKeyer(SECRET);
    for (const id of [ID_A, ID_B]) {
      const value = key(id);
      expect(value).toMatch(PATIENT_KEY_PATTERN);
      expect(value).not.toBe(id);
      expect(value).not.toContain(id);
      expect(value).not.toMatch(/\d{11}/);
    }
  });

  it('refuses a short secret and anything but an 11-digit id, without echoing the value', () => {
    expect(() => createPatientKeyer('short')).toThrow(/at least 16 bytes/);
    const key = createPatientKeyer(SECRET);
    expect(() => key(` ${ID_A}`)).toThrow('a patient key is made from an 11-digit national id only');
    expect(() => key(ID_A.slice(1))).toThrow(/11-digit/);
  });
});
