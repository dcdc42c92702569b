import { loadRecipientDirectory, parseRecipientDirectory } from '../../../src/handover/recipient-directory.ts';

const errorsOf = (text: string): readonly string[] => {
  const result = parseRecipientDirectory(text, 'dir.yaml');
  return result.ok ? [] : result.errors;
};

const VALID = `municipalities:
  '9901':
    name: Frisklivssentralen i Eksempelby
    herId: '99000001'
    organisationNumber: '999900011'
    phone: '+47 400 00 001'
    email: frisk@eksempelby.example.no
    fhirEndpoint: http://fhir.eksempelby.example.no/fhir/
`;

describe('the recipient directory file', () => {
  it('maps a kommunenummer to its Frisklivssentral, and finds it by HER-id', () => {
    const result = parseRecipientDirectory(VALID, 'dir.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.directory.byMunicipality('9901')).toEqual({
      municipality: '9901',
      name: 'Frisklivssentralen i Eksempelby',
      herId: '99000001',
      organisationNumber: '999900011',
      phone: '+47 400 00 001',
      email: 'frisk@eksempelby.example.no',
      channel: 'fhir',
      fhirEndpoint: 'http://fhir.eksempelby.example.no/fhir',
    });
    expect(result.directory.byHerId('99000001')?.municipality).toBe('9901');
    expect(result.directory.byMunicipality('9902')).toBeUndefined();
  });

  it('sends over EDI unless the entry says otherwise; an entry with only a fhirEndpoint keeps it', () => {
    const result = parseRecipientDirectory(
      `${VALID}  '9902':
    name: Frisklivssentralen i Prøvestad
    herId: '99000002'
    organisationNumber: '999900038'
    phone: '+47 400 00 002'
    email: frisk@provestad.example.no
  '9903':
    name: Frisklivssentralen i Prøvestad
    herId: '99000002'
    organisationNumber: '999900038'
    phone: '+47 400 00 002'
    email: frisk@provestad.example.no
    channel: kafka
`,
      'dir.yaml',
    );
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.directory.entries.map((e) => [e.municipality, e.channel])).toEqual([
      ['9901', 'fhir'],
      ['9902', 'edi'],
      ['9903', 'kafka'],
    ]);
  });

  it('refuses an unknown channel, a fhir channel without its endpoint and an endpoint the channel would not use', () => {
    const entry = (extra: string): string =>
      `municipalities:\n  '9901':\n    name: X\n    herId: '99000001'\n    organisationNumber: '999900011'\n    phone: '+47 400 00 001'\n    email: a@example.no\n${extra}`;
    expect(errorsOf(entry('    channel: fax\n'))).toEqual([
      'dir.yaml:8:14: municipality 9901: channel must be one of edi, fhir, kafka',
    ]);
    expect(errorsOf(entry('    channel: fhir\n'))).toEqual([
      'dir.yaml:3:5: municipality 9901: channel fhir needs a fhirEndpoint',
    ]);
    expect(errorsOf(entry('    channel: edi\n    fhirEndpoint: http://fhir.example.no/fhir\n'))).toEqual([
      "dir.yaml:3:5: municipality 9901: fhirEndpoint is only read with channel fhir (this entry's channel is edi)",
    ]);
  });

  it('reads the same directory written as JSON', () => {
    const json = JSON.stringify({
      municipalities: {
        '0301': {
          name: 'Frisklivssentralen',
          herId: '99000001',
          organisationNumber: '999900011',
          phone: '+47 400 00 001',
          email: 'a@example.no',
        },
      },
    });
    const result = parseRecipientDirectory(json, 'dir.json');
    expect(result.ok && result.directory.byMunicipality('0301')?.name).toBe('Frisklivssentralen');
  });

  it('names the line and column of each problem, all of them at once', () => {
    const text = `municipalities:
  '9901':
    name: Frisklivssentralen
    herId: '99000001'
    organisationNumber: '999900012'
    phone: 'ring meg'
    email: frisk@example.no
    colour: green
  0301:
    name: Oslo
`;
    expect(errorsOf(text)).toEqual([
      'dir.yaml:5:25: municipality 9901: organisationNumber is not an organisation number: the check digit (digit 9) does not match',
      'dir.yaml:6:12: municipality 9901: phone must be a phone number: digits and spaces, optionally starting with +',
      'dir.yaml:8:5: municipality 9901: unknown field "colour" (known: name, herId, organisationNumber, phone, email, channel, fhirEndpoint)',
      "dir.yaml:9:3: kommunenummer 301 must be quoted ('0301'): unquoted, YAML reads it as a number and drops leading zeros",
    ]);
  });

  it('names the entry a required field is missing from', () => {
    expect(errorsOf(`municipalities:\n  '9901':\n    name: X\n`)).toEqual([
      'dir.yaml:3:5: municipality 9901: herId is missing',
      'dir.yaml:3:5: municipality 9901: organisationNumber is missing',
      'dir.yaml:3:5: municipality 9901: phone is missing',
      'dir.yaml:3:5: municipality 9901: email is missing',
    ]);
  });

  it('reports a municipality listed twice and a YAML syntax error with their lines', () => {
    expect(errorsOf(`municipalities:\n  '9901': {}\n  '9901': {}\n`)[0]).toMatch(
      /^dir\.yaml:3:3: Map keys must be unique/,
    );
    expect(errorsOf(`municipalities:\n  '9901': [\n`)[0]).toMatch(/^dir\.yaml:\d+:\d+: /);
  });

  it('refuses a file that is not a mapping of municipalities', () => {
    expect(errorsOf('- 9901\n')).toEqual(['dir.yaml:1:1: the file must be a mapping with the key "municipalities"']);
    expect(errorsOf('kommuner: {}\n')).toEqual([
      'dir.yaml:1:1: unknown key "kommuner": only "municipalities" is read',
      'dir.yaml:1:1: "municipalities" must be a mapping of kommunenummer → Frisklivssentral',
    ]);
  });

  it('ships a synthetic example that loads', () => {
    const directory = loadRecipientDirectory('config/recipient-directory.yaml');
    expect(directory.size).toBeGreaterThanOrEqual(2);
    expect(directory.byMunicipality('9902')?.herId).toBe(directory.byMunicipality('9903')?.herId);
  });

  it('fails to load a file that is not there, saying which', () => {
    expect(() => loadRecipientDirectory('config/no-such-file.yaml')).toThrow(
      /config\/no-such-file\.yaml: cannot be read/,
    );
  });
});
