import { configSchema, describeConfig, loadConfig } from '../../../src/platform/config.ts';

const SECRET = 'a-patient-key-secret-of-32-chars!';

describe('configuration from the environment', () => {
  it('starts on embedded defaults when nothing is set', () => {
    const result = loadConfig({});
    expect(result).toEqual({
      ok: true,
      config: expect.objectContaining({ PORT: 8080, HOST: '0.0.0.0', LOG_LEVEL: 'info', LOG_PRETTY: false }) as unknown,
    });
    if (result.ok) expect(result.config.KAFKA_BROKERS).toBeUndefined();
  });

  it('turns numeric and boolean strings into numbers and booleans', () => {
    const result = loadConfig({ PORT: '9090', LOG_PRETTY: 'true', SHUTDOWN_TIMEOUT_MS: '2500' });
    expect(result.ok && result.config).toMatchObject({ PORT: 9090, LOG_PRETTY: true, SHUTDOWN_TIMEOUT_MS: 2500 });
  });

  it('treats a blank value as unset, so a blank .env line does not break start-up', () => {
    const result = loadConfig({ PORT: '  ', KAFKA_BROKERS: '' });
    expect(result.ok && result.config.PORT).toBe(8080);
    expect(result.ok && result.config.KAFKA_BROKERS).toBeUndefined();
  });

  it('reports every wrong variable at once, one line each, naming the variable and the value', () => {
    const result = loadConfig({ PORT: 'eighty', KAFKA_BROKERS: 'broker-without-port', EHR_BASE_URL: 'ftp://ehr/fhir' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(3);
    expect(result.errors).toEqual(
      expect.arrayContaining([
        'PORT must be a whole number (got "eighty")',
        'KAFKA_BROKERS must be a comma-separated list of host:port (got "broker-without-port")',
        'EHR_BASE_URL must be an http:// or https:// URL (got "ftp://ehr/fhir")',
      ]),
    );
  });

  it('rejects a port outside 0-65535 and an unknown log level', () => {
    const result = loadConfig({ PORT: '70000', LOG_LEVEL: 'verbose' });
    expect(!result.ok && result.errors).toEqual([
      'PORT must be at most 65535 (got "70000")',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    ]);
  });

  it('accepts several brokers and a postgres URL', () => {
    const result = loadConfig({
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      DATABASE_URL: 'postgresql://u:p@db:5432/hit',
      PATIENT_KEY_SECRET: SECRET,
    });
    expect(result.ok).toBe(true);
  });

  it('masks the database password when the configuration is logged', () => {
    const result = loadConfig({ DATABASE_URL: 'postgres://hit:s3cret@db:5432/hit', PATIENT_KEY_SECRET: SECRET });
    if (!result.ok) throw new Error('expected valid config');
    expect(JSON.stringify(describeConfig(result.config))).not.toContain('s3cret');
    expect(describeConfig(result.config).DATABASE_URL).toBe('postgres://hit:***@db:5432/hit');
  });

  it('requires PATIENT_KEY_SECRET with PostgreSQL, where every replica must share it', () => {
    const result = loadConfig({ DATABASE_URL: 'postgres://db/hit' });
    expect(!result.ok && result.errors).toEqual([
      'PATIENT_KEY_SECRET is required when DATABASE_URL is set (every replica needs the same secret) (it is missing)',
    ]);
  });

  it('never shows the patient-key secret or the EHR token in the logged configuration', () => {
    const result = loadConfig({ PATIENT_KEY_SECRET: SECRET, EHR_AUTH_TOKEN: 'bearer-token-value' });
    if (!result.ok) throw new Error('expected valid config');
    const shown = JSON.stringify(describeConfig(result.config));
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain('bearer-token-value');
  });

  it('documents every key with a description', () => {
    for (const [key, spec] of Object.entries(configSchema.properties)) {
      expect([key, spec.description.length > 10]).toEqual([key, true]);
    }
  });
});
