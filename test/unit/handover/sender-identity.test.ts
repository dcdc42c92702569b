import { senderIdentityFromConfig } from '../../../src/handover/edi/sender-identity.ts';
import { loadConfig, type Config } from '../../../src/platform/config.ts';

const FULL = {
  HOSPITAL_NAME: 'St. Olavs hospital HF',
  HOSPITAL_HER_ID: '8000001',
  HOSPITAL_ORGANISATION_NUMBER: '883974832',
  HOSPITAL_DEPARTMENT_NAME: 'Klinikk for hjertemedisin',
  HOSPITAL_DEPARTMENT_HER_ID: '8000002',
};

function config(env: Record<string, string>): Config {
  const loaded = loadConfig({ AUTH_MODE: 'off', ...env });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  return loaded.config;
}

describe('the e-messaging sender identity from configuration', () => {
  it('is absent when no sender key is set', () => {
    expect(senderIdentityFromConfig(config({}))).toBeUndefined();
  });

  it('reads the hospital and the department with their HER-ids and the organisation number', () => {
    expect(senderIdentityFromConfig(config(FULL))).toEqual({
      organisation: { name: 'St. Olavs hospital HF', herId: '8000001', organisationNumber: '883974832' },
      department: { name: 'Klinikk for hjertemedisin', herId: '8000002' },
    });
  });

  it('refuses half a sender, naming every missing key', () => {
    const partial = Object.fromEntries(
      Object.entries(FULL).filter(([key]) => key !== 'HOSPITAL_DEPARTMENT_HER_ID' && key !== 'HOSPITAL_NAME'),
    );
    expect(() => senderIdentityFromConfig(config(partial))).toThrow(
      /HOSPITAL_NAME is missing.*HOSPITAL_DEPARTMENT_HER_ID is missing/u,
    );
  });

  it("refuses an organisation number with a wrong check digit, and a department with the hospital's HER-id", () => {
    expect(() => senderIdentityFromConfig(config({ ...FULL, HOSPITAL_ORGANISATION_NUMBER: '883974833' }))).toThrow(
      /HOSPITAL_ORGANISATION_NUMBER is not an organisation number/u,
    );
    expect(() => senderIdentityFromConfig(config({ ...FULL, HOSPITAL_DEPARTMENT_HER_ID: '8000001' }))).toThrow(
      /must differ/u,
    );
  });

  it('the configuration schema refuses a HER-id that is not digits', () => {
    expect(loadConfig({ AUTH_MODE: 'off', ...FULL }).ok).toBe(true);
    expect(loadConfig({ AUTH_MODE: 'off', ...FULL, HOSPITAL_HER_ID: 'abc' }).ok).toBe(false);
  });
});
