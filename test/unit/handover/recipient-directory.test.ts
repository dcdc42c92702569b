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
      fhirEndpoint: 'http://fhir.eksempelby.example.no/fhir',
    });
    expect(result.directory.byHerId('99000001')?.municipality).toBe('9901');
    expect(result.directory.byMunicipality('9902')).toBeUndefined();
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
      'dir.yaml:8:5: municipality 9901: unknown field "colour" (known: name, herId, organisationNumber, phone, email, fhirEndpoint)',
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
