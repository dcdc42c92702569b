import {
  knownValuesPattern,
  personalValuesOf,
  REDACT_CATEGORIES,
  REDACTED_NATIONAL_ID,
  redactEmails,
  redactNationalIds,
  redactPhones,
  scrubDeep,
  scrubText,
} from '../../../src/platform/redaction.ts';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

const NATIONAL_ID = withCheckDigits('018190123');

describe('redactNationalIds (the one national-id scrubber: EHR messages, events, logs)', () => {
  it.each([
    [`Patient with identifier urn:oid:2.16.578.1.12.4.1.4.1|${NATIONAL_ID} not found`],
    [`No Patient ${NATIONAL_ID.slice(0, 6)} ${NATIONAL_ID.slice(6)} known`],
    [`No Patient ${NATIONAL_ID.slice(0, 6)}-${NATIONAL_ID.slice(6)} known`],
    [`No Patient ${NATIONAL_ID.slice(0, 6)}.${NATIONAL_ID.slice(6)} known`],
    [`id=${NATIONAL_ID}7 (one digit too many)`],
  ])('removes the id from %s', (text) => {
    const redacted = redactNationalIds(text);
    expect(redacted).toContain(REDACTED_NATIONAL_ID);
    expect(redacted.replace(/\D/g, '')).not.toContain(NATIONAL_ID);
    expect(redacted).not.toMatch(/\d{11}/);
  });

  it('keeps ordinary text, OIDs, times, HPR and organisation numbers', () => {
    const text =
      'HAPI-0543: Bundle entry 3 (Procedure/123) failed at 2026-11-23T10:15:00Z; system urn:oid:2.16.578.1.12.4.1.4.1; HPR 9144889, org 974760673';
    expect(redactNationalIds(text)).toBe(text);
  });
});

describe('redactPhones', () => {
  it.each(['+47 400 00 001', '+4740000001', '0047 400 00 001', '40000001', '400 00 001', '40 00 00 01', '400 00001'])(
    'removes %s',
    (phone) => {
      expect(redactPhones(`call ${phone} after 16`)).toBe('call [phone] after 16');
    },
  );

  it('keeps times, dates, UUIDs, resource ids, offsets in URLs and version numbers', () => {
    const text =
      'at 2026-11-23T10:15:00.000Z submission 12345678-1b2c-4d5e-8f90-a1b2c3d4e5f6 Procedure/12345678 http://h:8080/fhir/Basic/40000001 v1.2.3 took 250 ms';
    expect(redactPhones(text)).toBe(text);
  });
});

describe('redactEmails', () => {
  it('removes addresses, with Norwegian letters too', () => {
    expect(redactEmails('write to kari.nordmann+plan@example.no or bjørn@frisklivs-sentral.example.no.')).toBe(
      'write to [email] or [email].',
    );
  });
});

describe('personal values of an input, found again verbatim', () => {
  const discharge = {
    dischargeId: 'd-1',
    patient: { nationalId: NATIONAL_ID, givenName: 'Kari', phone: '+47 400 00 001', email: 'kari@example.no' },
    recipients: { trainingContact: { name: 'Ola Nordmann', phone: '+47 400 00 002' } },
    exercises: [{ name: 'knebøy' }],
  };

  it('collects national id, names, phones and e-mails; `name` only where it names a person', () => {
    expect(personalValuesOf(discharge)).toEqual([
      { value: NATIONAL_ID, category: 'national-id' },
      { value: 'Kari', category: 'name' },
      { value: '+47 400 00 001', category: 'phone' },
      { value: 'kari@example.no', category: 'email' },
      { value: 'Ola Nordmann', category: 'name' },
      { value: '+47 400 00 002', category: 'phone' },
    ]);
  });

  it('finds a name, or one word of it, as a whole word in any case, and leaves longer words alone', () => {
    const known = knownValuesPattern(personalValuesOf(discharge), REDACT_CATEGORIES);
    expect(
      scrubText('HAPI: patient OLA NORDMANN / Nordmann unknown; Karin and Olav stay', REDACT_CATEGORIES, known),
    ).toBe('HAPI: patient [redacted] / [redacted] unknown; Karin and Olav stay');
  });

  it('scrubs only the categories asked for', () => {
    const known = knownValuesPattern(personalValuesOf(discharge), ['national-id']);
    expect(scrubText(`Kari ${NATIONAL_ID} kari@example.no`, ['national-id'], known)).toBe(
      `Kari [redacted] kari@example.no`,
    );
    expect(scrubText(`Kari ${NATIONAL_ID} kari@example.no`, ['email'])).toBe(`Kari ${NATIONAL_ID} [email]`);
  });
});

describe('scrubDeep', () => {
  it('scrubs every string of nested objects, arrays and errors (message, stack, cause) and copies, never mutates', () => {
    const error = new Error(`no patient ${NATIONAL_ID}`, { cause: new Error(`ring +47 400 00 001`) });
    const input = { a: [{ b: `x ${NATIONAL_ID}` }], n: 3, err: error };
    const out = scrubDeep(input, (text) => redactPhones(redactNationalIds(text)));
    expect(out).toMatchObject({ a: [{ b: `x ${REDACTED_NATIONAL_ID}` }], n: 3 });
    expect(out.err).toBeInstanceOf(Error);
    expect(out.err.message).toBe(`no patient ${REDACTED_NATIONAL_ID}`);
    expect(out.err.stack).not.toContain(NATIONAL_ID);
    expect((out.err.cause as Error).message).toBe('ring [phone]');
    expect(input.a[0]?.b).toBe(`x ${NATIONAL_ID}`);
  });
});
