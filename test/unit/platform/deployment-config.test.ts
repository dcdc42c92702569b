import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { configSchema, SECRET_KEYS } from '../../../src/platform/config.ts';

// The Helm chart and docker-compose.yml set the service's variables by name: a renamed or new
// variable in src/platform/config.ts must reach them too (helm/hit-bridge/values.schema.json lists
// what `config:` accepts, and what `secrets:` mounts as files). Secrets (`secret: true` in
// config.ts) never go in `config:`; the chart sets PORT, HOST, DATA_DIR and ROLES itself.
const CHART_SET = ['PORT', 'HOST', 'DATA_DIR', 'ROLES'];

const known = Object.keys(configSchema.properties);
const valuesSchema = JSON.parse(readFileSync('helm/hit-bridge/values.schema.json', 'utf8')) as {
  properties: {
    config: { properties: Record<string, unknown> };
    secrets: { properties: { keys: { propertyNames: { enum: string[] } } } };
  };
};
const values = parse(readFileSync('helm/hit-bridge/values.yaml', 'utf8')) as {
  config: Record<string, unknown>;
  secrets: { keys: Record<string, string> };
};
const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
  services: { 'hit-bridge': { environment: Record<string, unknown> } };
};

describe('deployment configuration names', () => {
  it('the chart accepts in `config:` exactly the variables that are neither set by the chart nor secret', () => {
    const expected = known.filter((key) => !CHART_SET.includes(key) && !SECRET_KEYS.includes(key)).sort();
    expect(Object.keys(valuesSchema.properties.config.properties).sort()).toEqual(expected);
  });

  it('the chart mounts exactly the secret variables as files, and values.yaml names a key for each', () => {
    expect([...valuesSchema.properties.secrets.properties.keys.propertyNames.enum].sort()).toEqual(
      [...SECRET_KEYS].sort(),
    );
    expect(Object.keys(values.secrets.keys).sort()).toEqual([...SECRET_KEYS].sort());
  });

  it('values.yaml sets only variables the service reads', () => {
    expect(Object.keys(values.config).filter((key) => !known.includes(key))).toEqual([]);
  });

  it('docker-compose.yml gives hit-bridge only variables the service reads', () => {
    const environment = Object.keys(compose.services['hit-bridge'].environment);
    expect(environment.filter((key) => !known.includes(key))).toEqual([]);
  });
});
