import { readFileSync } from 'node:fs';
import { parseAppRec } from '../../../src/handover/edi/app-rec.ts';
import { SCHEMAS, validateAgainstXsd } from '../../support/xmllint.ts';

const sample = (path: string): string =>
  readFileSync(new URL(`../../../third_party/kith-xsd/examples/app-rec/${path}`, import.meta.url), 'utf8');

describe('parseAppRec on the vendored KITH sample receipts', () => {
  it.each([
    ['1.0/example-ok.xml', SCHEMAS.appRec10],
    ['1.0/all-data.xml', SCHEMAS.appRec10],
    ['1.0/example-avvist.xml', SCHEMAS.appRec10],
    ['1.0/example-ok-feil-i-delmelding.xml', SCHEMAS.appRec10],
    ['1.1/example-ok.xml', SCHEMAS.appRec11],
    ['1.1/all-data.xml', SCHEMAS.appRec11],
    ['1.1/example-avvist.xml', SCHEMAS.appRec11],
  ])('%s is schema-valid (the samples are what the parser is pinned on)', (path, schema) => {
    expect(validateAgainstXsd(sample(path), schema)).toEqual({ valid: true });
  });

  it('AppRec 1.1 OK: outcome ok, no errors, the original MsgId', () => {
    const reading = parseAppRec(sample('1.1/all-data.xml'));
    expect(reading).toMatchObject({
      ok: true,
      value: {
        version: '1.1',
        outcome: 'ok',
        status: { code: '1', text: 'OK' },
        errors: [],
        originalMsgId: '5d79bd68-a58c-4599-a4e7-9db28ea20099',
        originalMsgType: 'DIALOG_HELSEFAGLIG',
      },
    });
  });

  it('AppRec 1.1 Avvist: outcome rejected with the error code, its code system and meaning', () => {
    const reading = parseAppRec(sample('1.1/example-avvist.xml'));
    expect(reading).toMatchObject({
      ok: true,
      value: {
        outcome: 'rejected',
        status: { code: '2', text: 'Avvist' },
        errors: [{ code: 'E21', text: 'Mottaker finnes ikke', system: '2.16.578.1.12.4.1.1.8221' }],
        originalMsgId: 'e0e21a90-5ec8-11e1-b86c-0800200c9a66',
      },
    });
  });

  it("AppRec 1.0 Avvist keeps the receiver's own words (OT)", () => {
    const reading = parseAppRec(sample('1.0/example-avvist.xml'));
    expect(reading).toMatchObject({
      ok: true,
      value: { version: '1.0', outcome: 'rejected', errors: [{ code: 'E21', detail: 'Legen har sluttet' }] },
    });
  });

  it('AppRec 1.0 "OK, feil i delmelding": ok-with-errors, every error in order', () => {
    const reading = parseAppRec(sample('1.0/example-ok-feil-i-delmelding.xml'));
    expect(reading.ok && reading.value.outcome).toBe('ok-with-errors');
    expect(reading.ok && reading.value.errors.map((e) => [e.code, e.detail])).toEqual([
      ['07', '93495'],
      ['16', '93498'],
    ]);
  });

  it.each([
    ['1.0/unknown-status.xml', /unknown AppRec status 73/u],
    ['1.1/unknown-status.xml', /unknown AppRec status 123/u],
    ['missing-migversion.xml', /MIGversion is missing/u],
    ['unknown-migversion.xml', /MIGversion "123"/u],
  ])('%s is not read as a receipt (never taken for an OK)', (path, reason) => {
    const reading = parseAppRec(sample(path));
    expect(reading.ok).toBe(false);
    expect(!reading.ok && reading.reason).toMatch(reason);
  });

  it('refuses a non-AppRec, a foreign namespace, and text that is not XML', () => {
    expect(parseAppRec('<MsgHead xmlns="http://www.kith.no/xmlstds/msghead/2006-05-24"/>').ok).toBe(false);
    expect(parseAppRec(sample('1.1/example-ok.xml').replace('apprec/2012-02-15"', 'apprec/2099-01-01"')).ok).toBe(
      false,
    );
    expect(parseAppRec('<AppRec><Status V="1"></AppRec>')).toEqual({ ok: false, reason: 'not well-formed XML' });
    expect(parseAppRec('<!DOCTYPE x [<!ENTITY a "b">]><AppRec/>').ok).toBe(false);
  });

  it('an Avvist without an error code is not a receipt we can act on', () => {
    const noError = sample('1.1/example-avvist.xml').replace(/<Error [^>]*\/>/u, '');
    expect(parseAppRec(noError)).toEqual({ ok: false, reason: 'an AppRec with status 2 must name at least one error' });
  });
});
