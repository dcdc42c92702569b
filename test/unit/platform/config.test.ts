import { parse } from 'pg-connection-string';
import { configSchema, describeConfig, loadConfig, SECRET_KEYS } from '../../../src/platform/config.ts';
import { withPassword } from '../../../src/store/create-store.ts';

const SECRET = 'a-patient-key-secret-of-32-chars!';
/** Most of these tests are about other variables: authentication is explicitly off in them. */
const AUTH_OFF = { AUTH_MODE: 'off' };

describe('configuration from the environment', () => {
  it('refuses to start when nothing is set: bearer tokens are the default and need an issuer and an audience', () => {
    const result = loadConfig({});
    expect(!result.ok && result.errors).toEqual([
      'AUTH_ISSUER is required when AUTH_MODE is jwt, the default (set AUTH_MODE=off to run without authentication, for development only) (it is missing)',
      'AUTH_AUDIENCE is required when AUTH_MODE is jwt, the default (set AUTH_MODE=off to run without authentication, for development only) (it is missing)',
    ]);
  });

  it('starts with an issuer and an audience, a clock skew of 30 s and a rate limit by default', () => {
    const result = loadConfig({ AUTH_ISSUER: 'https://idp.example.no/realms/hospital', AUTH_AUDIENCE: 'hit-bridge' });
    expect(result.ok && result.config).toMatchObject({
      AUTH_MODE: 'jwt',
      AUTH_CLOCK_SKEW_SECONDS: 30,
      RATE_LIMIT_PER_SECOND: 20,
      RATE_LIMIT_BURST: 100,
      REQUEST_TIMEOUT_MS: 30000,
    });
  });

  it('refuses a non-http issuer, an unknown AUTH_MODE, a skew over 5 minutes and a rate of 0', () => {
    const result = loadConfig({
      AUTH_MODE: 'none',
      AUTH_ISSUER: 'idp.example.no',
      AUTH_CLOCK_SKEW_SECONDS: '3600',
      RATE_LIMIT_PER_SECOND: '0',
    });
    expect(!result.ok && result.errors).toEqual(
      expect.arrayContaining([
        'AUTH_MODE must be one of jwt, off (got "none")',
        'AUTH_ISSUER must be an http:// or https:// URL (got "idp.example.no")',
        'AUTH_CLOCK_SKEW_SECONDS must be at most 300 (got "3600")',
        'RATE_LIMIT_PER_SECOND must be more than 0 (got "0")',
      ]),
    );
  });

  it('starts on embedded defaults when only AUTH_MODE=off is set', () => {
    const result = loadConfig(AUTH_OFF);
    expect(result).toEqual({
      ok: true,
      config: expect.objectContaining({ PORT: 8080, HOST: '0.0.0.0', LOG_LEVEL: 'info', LOG_PRETTY: false }) as unknown,
    });
    if (result.ok) expect(result.config.KAFKA_BROKERS).toBeUndefined();
  });

  it('turns numeric and boolean strings into numbers and booleans', () => {
    const result = loadConfig({ ...AUTH_OFF, PORT: '9090', LOG_PRETTY: 'true', SHUTDOWN_TIMEOUT_MS: '2500' });
    expect(result.ok && result.config).toMatchObject({ PORT: 9090, LOG_PRETTY: true, SHUTDOWN_TIMEOUT_MS: 2500 });
  });

  it('treats a blank value as unset, so a blank .env line does not break start-up', () => {
    const result = loadConfig({ ...AUTH_OFF, PORT: '  ', KAFKA_BROKERS: '' });
    expect(result.ok && result.config.PORT).toBe(8080);
    expect(result.ok && result.config.KAFKA_BROKERS).toBeUndefined();
  });

  it('reports every wrong variable at once, one line each, naming the variable and the value', () => {
    const result = loadConfig({
      ...AUTH_OFF,
      PORT: 'eighty',
      KAFKA_BROKERS: 'broker-without-port',
      EHR_BASE_URL: 'ftp://ehr/fhir',
    });
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
    const result = loadConfig({ ...AUTH_OFF, PORT: '70000', LOG_LEVEL: 'verbose' });
    expect(!result.ok && result.errors).toEqual([
      'PORT must be at most 65535 (got "70000")',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    ]);
  });

  it('accepts several brokers and a postgres URL', () => {
    const result = loadConfig({
      ...AUTH_OFF,
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      DATABASE_URL: 'postgresql://u:p@db:5432/hit',
      PATIENT_KEY_SECRET: SECRET,
    });
    expect(result.ok).toBe(true);
  });

  it('masks the database password when the configuration is logged', () => {
    const result = loadConfig({
      ...AUTH_OFF,
      DATABASE_URL: 'postgres://hit:s3cret@db:5432/hit',
      PATIENT_KEY_SECRET: SECRET,
    });
    if (!result.ok) throw new Error('expected valid config');
    expect(JSON.stringify(describeConfig(result.config))).not.toContain('s3cret');
    expect(describeConfig(result.config).DATABASE_URL).toBe('postgres://hit:***@db:5432/hit');
  });

  it('requires PATIENT_KEY_SECRET with PostgreSQL, where every replica must share it', () => {
    const result = loadConfig({ ...AUTH_OFF, DATABASE_URL: 'postgres://db/hit' });
    expect(!result.ok && result.errors).toEqual([
      'PATIENT_KEY_SECRET is required when DATABASE_URL is set (every replica needs the same secret) (it is missing)',
    ]);
  });

  it('never shows the patient-key secret or the EHR token in the logged configuration', () => {
    const result = loadConfig({ ...AUTH_OFF, PATIENT_KEY_SECRET: SECRET, EHR_AUTH_TOKEN: 'bearer-token-value' });
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

describe('secrets from mounted files (<NAME>_FILE)', () => {
  const files: Record<string, string> = {
    '/run/secrets/patient-key': `${SECRET}\n`,
    '/run/secrets/ehr-token': 'token-from-a-file\n',
    '/run/secrets/db-password': 'pa:ss@word/1\n',
    '/run/secrets/empty': '\n',
  };
  const readFile = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };

  it('reads a secret from the file <NAME>_FILE names, without its trailing newline', () => {
    const result = loadConfig(
      {
        ...AUTH_OFF,
        PATIENT_KEY_SECRET_FILE: '/run/secrets/patient-key',
        EHR_AUTH_TOKEN_FILE: '/run/secrets/ehr-token',
      },
      readFile,
    );
    expect(result.ok && result.config.PATIENT_KEY_SECRET).toBe(SECRET);
    expect(result.ok && result.config.EHR_AUTH_TOKEN).toBe('token-from-a-file');
  });

  it('refuses a variable given both directly and as a file, rather than guessing which wins', () => {
    const result = loadConfig(
      { ...AUTH_OFF, EHR_AUTH_TOKEN: 'direct', EHR_AUTH_TOKEN_FILE: '/run/secrets/ehr-token' },
      readFile,
    );
    expect(!result.ok && result.errors).toEqual([
      'EHR_AUTH_TOKEN and EHR_AUTH_TOKEN_FILE are both set; set only one of them',
    ]);
  });

  it('names a missing or empty file, never a value', () => {
    const result = loadConfig(
      { ...AUTH_OFF, PATIENT_KEY_SECRET_FILE: '/run/secrets/absent', EHR_AUTH_TOKEN_FILE: '/run/secrets/empty' },
      readFile,
    );
    expect(!result.ok && result.errors).toEqual([
      'PATIENT_KEY_SECRET_FILE names a file that cannot be read (/run/secrets/absent: ENOENT)',
      'EHR_AUTH_TOKEN_FILE names an empty file (/run/secrets/empty)',
    ]);
  });

  it('checks a value read from a file by the same rules, without quoting the secret', () => {
    files['/run/secrets/short'] = 'too-short-secret\n';
    const result = loadConfig({ ...AUTH_OFF, PATIENT_KEY_SECRET_FILE: '/run/secrets/short' }, readFile);
    expect(!result.ok && result.errors).toEqual([
      'PATIENT_KEY_SECRET must NOT have fewer than 32 characters (got 16 characters, not shown)',
    ]);
  });

  it('never quotes a secret given directly in a configuration error either', () => {
    const result = loadConfig({ ...AUTH_OFF, PATIENT_KEY_SECRET: 'short-but-secret' });
    expect(JSON.stringify(result)).not.toContain('short-but-secret');
  });

  it('masks the database password when quoting a wrong DATABASE_URL', () => {
    const result = loadConfig({ ...AUTH_OFF, DATABASE_URL: 'mysql://hit:s3cret@db/hit', PATIENT_KEY_SECRET: SECRET });
    expect(JSON.stringify(result)).not.toContain('s3cret');
  });

  it('takes the database password from DATABASE_PASSWORD_FILE, and puts it into the URL pg reads', () => {
    const result = loadConfig(
      {
        ...AUTH_OFF,
        DATABASE_URL: 'postgres://hit@db:5432/hit',
        DATABASE_PASSWORD_FILE: '/run/secrets/db-password',
        PATIENT_KEY_SECRET: SECRET,
      },
      readFile,
    );
    if (!result.ok) throw new Error(result.errors.join('; '));
    const url = withPassword(result.config.DATABASE_URL ?? '', result.config.DATABASE_PASSWORD);
    expect(parse(url)).toMatchObject({ user: 'hit', password: 'pa:ss@word/1', host: 'db', database: 'hit' });
  });

  it('shows no secret in the logged configuration, however it was given', () => {
    const result = loadConfig(
      {
        ...AUTH_OFF,
        DATABASE_URL: 'postgres://hit:url-password@db/hit?sslmode=require&password=query-password',
        DATABASE_PASSWORD_FILE: '/run/secrets/db-password',
        PATIENT_KEY_SECRET_FILE: '/run/secrets/patient-key',
        EHR_AUTH_TOKEN_FILE: '/run/secrets/ehr-token',
      },
      readFile,
    );
    if (!result.ok) throw new Error(result.errors.join('; '));
    const shown = JSON.stringify(describeConfig(result.config));
    for (const secret of [SECRET, 'token-from-a-file', 'pa:ss@word/1', 'url-password', 'query-password']) {
      expect(shown).not.toContain(secret);
    }
    expect(describeConfig(result.config)).toMatchObject({
      DATABASE_URL: 'postgres://hit:***@db/hit?sslmode=require&password=***',
      DATABASE_PASSWORD: '***',
      PATIENT_KEY_SECRET: '***',
      EHR_AUTH_TOKEN: '***',
    });
  });

  it('marks every key that holds a credential as secret', () => {
    expect(SECRET_KEYS).toEqual(expect.arrayContaining(['PATIENT_KEY_SECRET', 'EHR_AUTH_TOKEN', 'DATABASE_PASSWORD']));
  });
});
