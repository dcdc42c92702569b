/**
 * The service's configuration: read once from environment variables, validated with ajv, and
 * every problem reported together, one line per variable. Each key carries its meaning and
 * default here; the README's configuration table is checked against this schema by a test.
 *
 * Secrets come from the environment or from mounted files only: every variable may instead be
 * given as `<NAME>_FILE`, the path of a file holding its value (a Kubernetes secret mounted as a
 * volume), so the value itself never has to sit in the pod spec or the process environment.
 * Keys marked `secret: true` are never shown: not in the start-up configuration line
 * (describeConfig), not in a configuration error (which says how long the value was instead).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { RedactCategory } from './redaction.ts';

export const configSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    PORT: {
      type: 'integer',
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: 'TCP port of the HTTP API (0 picks a free port).',
    },
    HOST: {
      type: 'string',
      minLength: 1,
      default: '0.0.0.0',
      description: 'Address the HTTP API listens on.',
    },
    LOG_LEVEL: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      description: 'Least severe log level written.',
    },
    LOG_PRETTY: {
      type: 'boolean',
      default: false,
      description: 'Human-readable logs instead of JSON lines (for a terminal, never for production).',
    },
    LOG_REDACT: {
      type: 'string',
      pattern: '^(national-id|name|phone|email)(,(national-id|name|phone|email))*$',
      default: 'national-id,name,phone,email',
      description:
        'Personal data removed from every log line, by field name and by value in free text (messages, errors): a comma-separated list of national-id, name, phone, email. Default all four; there is no way to switch all off.',
    },
    OTEL_EXPORTER_OTLP_ENDPOINT: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description:
        'OTLP/HTTP collector for traces (the standard OpenTelemetry variable; traces go to <this>/v1/traces). Unset, and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT unset: tracing is off, no SDK is started.',
    },
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: 'Full OTLP/HTTP URL for traces, instead of OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces.',
    },
    OTEL_SERVICE_NAME: {
      type: 'string',
      minLength: 1,
      default: 'hit-bridge',
      description: 'service.name of the traces.',
    },
    OTEL_TRACES_SAMPLER: {
      type: 'string',
      enum: [
        'parentbased_always_on',
        'parentbased_always_off',
        'parentbased_traceidratio',
        'always_on',
        'always_off',
        'traceidratio',
      ],
      default: 'parentbased_always_on',
      description: "Which traces are recorded (the standard values); parentbased_* follow the caller's sampled flag.",
    },
    OTEL_TRACES_SAMPLER_ARG: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      description: 'The ratio for the traceidratio samplers (default 1).',
    },
    OTEL_SDK_DISABLED: {
      type: 'boolean',
      default: false,
      description: 'true switches tracing off even with an endpoint set.',
    },
    SHUTDOWN_TIMEOUT_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 600000,
      default: 10000,
      description: 'On SIGTERM/SIGINT, how long in-flight work may take before the process exits anyway.',
    },
    READINESS_TIMEOUT_MS: {
      type: 'integer',
      minimum: 50,
      maximum: 60000,
      default: 2000,
      description: 'How long /readyz waits for each dependency to answer.',
    },
    KAFKA_BROKERS: {
      type: 'string',
      pattern: '^[^,:\\s]+:\\d{1,5}(,[^,:\\s]+:\\d{1,5})*$',
      description: 'Kafka bootstrap brokers as host:port[,host:port…]. Unset: events stay in the embedded log.',
    },
    EHR_BASE_URL: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: 'FHIR R4 base URL of the hospital EHR (e.g. http://ehr.example/fhir).',
    },
    EHR_TIMEOUT_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 600000,
      default: 30000,
      description:
        'How long one request to the EHR may take before it counts as a transient failure (retried; the transaction Bundle is idempotent).',
    },
    EHR_RETRY_INITIAL_MS: {
      type: 'integer',
      minimum: 1,
      maximum: 3600000,
      default: 2000,
      description:
        'Upper bound of the delay after the first failed EHR delivery; it doubles per attempt (full jitter draws below it).',
    },
    EHR_RETRY_MAX_MS: {
      type: 'integer',
      minimum: 1,
      maximum: 86400000,
      default: 600000,
      description:
        'Cap on the delay between EHR delivery attempts (a Retry-After from the EHR is honoured beyond it, up to 6 hours).',
    },
    EHR_RETRY_HORIZON_HOURS: {
      type: 'integer',
      minimum: 1,
      maximum: 8760,
      default: 168,
      description:
        'How long after its first attempt a transiently failing submission is retried before it is marked failed (168 h = 7 days).',
    },
    EHR_BREAKER_FAILURES: {
      type: 'integer',
      minimum: 1,
      maximum: 1000,
      default: 5,
      description:
        'Consecutive transient EHR failures (network errors, timeouts, 408/425/429/5xx, 401/403) that open the circuit breaker; 429/503 refusals of requests that were in flight together count once.',
    },
    EHR_BREAKER_COOLDOWN_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 3600000,
      default: 30000,
      description:
        'How long an open circuit sends nothing before one probe; it doubles after each failed probe, up to 10 times this.',
    },
    EHR_LEASE_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 3600000,
      default: 120000,
      description:
        'How long a delivery worker holds a claimed job; if its process dies, another worker takes the job back after this.',
    },
    EHR_DELIVERY_CONCURRENCY: {
      type: 'integer',
      minimum: 1,
      maximum: 64,
      default: 4,
      description:
        'Bundles one delivery worker has in flight to the EHR at once (1: one after the other); with EHR_DELIVERY_ADAPTIVE, the most it may have. A busy EHR answers several at a time faster than one by one; more workers (replicas with the ehr role) add to this.',
    },
    EHR_DELIVERY_ADAPTIVE: {
      type: 'boolean',
      default: true,
      description:
        'Halve the Bundles in flight when the EHR answers 429, 503 or not in time, and grow back by one per round of answers in good time, up to EHR_DELIVERY_CONCURRENCY (false: always EHR_DELIVERY_CONCURRENCY).',
    },
    RELAY_LEASE_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 3600000,
      default: 60000,
      description:
        'How long an event relay worker holds a claimed event; if its process dies, another worker takes it back after this.',
    },
    REPLAY_MAX: {
      type: 'integer',
      minimum: 1,
      maximum: 100000,
      default: 1000,
      description:
        'The most submissions one bulk replay (POST /v1/submissions/replay, hit-bridge replay --status failed) re-queues; a filter matching more is refused with the count, so a mistaken filter cannot flood the EHR.',
    },
    RETENTION_DAYS: {
      type: 'integer',
      minimum: 0,
      maximum: 3650,
      default: 30,
      description:
        'Days after its final delivery (EHR and event both done) that a submission keeps its content (personal data); then the retention job erases it, keeping status, timeline, EHR references and audit. 0: erased at the next sweep. Under EHR_PROFILE=dips-arena the handover reads a stay from this content: cover the baseline window (92 days), the longest prescription and the time to discharge (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md).',
    },
    RETENTION_FAILED_DAYS: {
      type: 'integer',
      minimum: 0,
      maximum: 3650,
      default: 90,
      description:
        'Days a failed submission keeps its content so it can be replayed; then it is erased like a delivered one and can no longer be replayed.',
    },
    RETENTION_SWEEP_INTERVAL_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 86400000,
      default: 3600000,
      description: 'How often the retention job (in processes with the ehr role) looks for content to erase.',
    },
    DATABASE_URL: {
      type: 'string',
      pattern: '^postgres(ql)?://',
      description:
        'PostgreSQL connection URL. Unset: the embedded SQLite store under DATA_DIR. Its password is masked wherever the configuration is shown.',
    },
    DATABASE_PASSWORD: {
      type: 'string',
      minLength: 1,
      secret: true,
      description:
        "Password for DATABASE_URL's user, replacing any password in the URL: keeps the URL free of secrets (typically DATABASE_PASSWORD_FILE from a Kubernetes secret).",
    },
    ROLES: {
      type: 'string',
      pattern: '^(api|ehr|relay|handover)(,(api|ehr|relay|handover))*$',
      default: 'api,ehr,relay,handover',
      description:
        'Which parts run in this process: api (the HTTP intake), ehr (delivery to the EHR), relay (outbox to the event bus), handover (discharge packets, referral Tasks, acknowledgements). Health and readiness are always served.',
    },
    PATIENT_KEY_SECRET: {
      type: 'string',
      minLength: 32,
      secret: true,
      description:
        'Secret for the pseudonymous patient key (HMAC-SHA256 of the national id), at least 32 characters, the same on every replica. Required with DATABASE_URL; unset on the embedded store, one is generated into DATA_DIR.',
    },
    EHR_AUTH_MODE: {
      type: 'string',
      enum: ['none', 'bearer', 'smart-backend', 'helseid'],
      description:
        'How hit-bridge authenticates to the EHR: none; bearer (EHR_AUTH_TOKEN); smart-backend (SMART Backend Services: client credentials with a signed JWT, EHR_CLIENT_ID and EHR_PRIVATE_KEY); helseid (HelseID client credentials with DPoP-bound tokens, the HELSEID_* variables, for the audience HELSEID_EHR_AUDIENCE). Unset: bearer when EHR_AUTH_TOKEN is set, else none.',
    },
    EHR_AUTH_TOKEN: {
      type: 'string',
      minLength: 1,
      secret: true,
      description: 'Static bearer token sent to the EHR (EHR_AUTH_MODE=bearer).',
    },
    EHR_TOKEN_URL: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description:
        "SMART Backend Services: the authorization server's token endpoint. Unset: read from <EHR_BASE_URL>/.well-known/smart-configuration.",
    },
    EHR_CLIENT_ID: {
      type: 'string',
      minLength: 1,
      description: "SMART Backend Services: hit-bridge's client id at the EHR's authorization server.",
    },
    EHR_PRIVATE_KEY: {
      type: 'string',
      minLength: 1,
      secret: true,
      description:
        'SMART Backend Services: the PEM private key (PKCS#8) that signs client assertions: RSA signs RS384, EC P-384 signs ES384. Typically EHR_PRIVATE_KEY_FILE, a mounted secret.',
    },
    EHR_KEY_ID: {
      type: 'string',
      minLength: 1,
      description:
        "SMART Backend Services: the kid of hit-bridge's public key in the JWKS registered at the authorization server. Unset: the key's RFC 7638 thumbprint.",
    },
    EHR_SCOPES: {
      type: 'string',
      default: 'system/*.write',
      description: 'SMART Backend Services: the scopes asked for, space-separated.',
    },
    HELSEID_ISSUER: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description:
        "HelseID's issuer, e.g. https://helseid-sts.test.nhn.no: endpoints are read from <issuer>/.well-known/openid-configuration (kept 24 h), and it is the client assertion's audience.",
    },
    HELSEID_CLIENT_ID: {
      type: 'string',
      minLength: 1,
      description: "hit-bridge's client id in HelseID's self-service.",
    },
    HELSEID_PRIVATE_KEY: {
      type: 'string',
      minLength: 1,
      secret: true,
      description:
        "The HelseID client's private key as a JWK (JSON, RSA or EC, with its kid and alg as registered); signs client assertions. Typically HELSEID_PRIVATE_KEY_FILE, a mounted secret.",
    },
    HELSEID_DPOP_KEY: {
      type: 'string',
      minLength: 1,
      secret: true,
      description:
        'A private JWK to sign DPoP proofs with. Unset (the usual): a key pair generated at start, held in memory only, so a restart binds new tokens to a new key.',
    },
    HELSEID_SCOPES: {
      type: 'string',
      minLength: 1,
      description:
        'Every HelseID scope hit-bridge may ask for, space-separated, e.g. "nhn:msh/api". A token for an audience asks for the scopes starting with "<audience>/".',
    },
    HELSEID_EHR_AUDIENCE: {
      type: 'string',
      minLength: 1,
      description:
        'EHR_AUTH_MODE=helseid: the EHR API\'s audience in HelseID; its scopes are those in HELSEID_SCOPES starting with "<audience>/".',
    },
    HELSEID_ASSERTION_LIFETIME_S: {
      type: 'integer',
      minimum: 1,
      maximum: 60,
      default: 10,
      description: "Seconds a client assertion is valid (exp = iat + this): 10 like NHN's own client, at most 60.",
    },
    HELSEID_CLOCK_SKEW_S: {
      type: 'integer',
      minimum: 0,
      maximum: 60,
      default: 5,
      description:
        'Seconds by which clocks may differ: a HelseID token is replaced this long (at most half its lifetime) before it expires.',
    },
    HELSEID_PARENT_ORGNR: {
      type: 'string',
      pattern: '^[0-9]{9}$',
      description:
        "Multi-tenant HelseID client: the organisation number of the parent organisation, sent in the client assertion's assertion_details (with HELSEID_CHILD_ORGNR when set).",
    },
    HELSEID_CHILD_ORGNR: {
      type: 'string',
      pattern: '^[0-9]{9}$',
      description:
        "The organisation number of the child organisation (the hospital unit) hit-bridge acts for, sent in the client assertion's assertion_details.",
    },
    DATA_DIR: {
      type: 'string',
      minLength: 1,
      default: './data',
      description: 'Directory for the embedded store when DATABASE_URL is unset.',
    },
    BODY_LIMIT_BYTES: {
      type: 'integer',
      minimum: 1024,
      maximum: 10485760,
      default: 262144,
      description:
        'Largest request body the HTTP API reads, in bytes (after decompression); a larger one is answered 413.',
    },
    AUTH_MODE: {
      type: 'string',
      enum: ['jwt', 'off'],
      default: 'jwt',
      description:
        'How callers of /v1 are authenticated: jwt (OAuth 2.0 bearer JWTs from AUTH_ISSUER, scopes per route) or off (no authentication: development only, warned about at every start). npm start sets off (dev.env).',
    },
    AUTH_ISSUER: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description:
        'The authorization server (the token iss claim, exactly). Required when AUTH_MODE is jwt; its JWKS is found by OpenID discovery unless AUTH_JWKS_URL is set.',
    },
    AUTH_AUDIENCE: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'What tokens must name in aud to be accepted here. Required when AUTH_MODE is jwt.',
    },
    AUTH_JWKS_URL: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description:
        "The issuer's JSON Web Key Set. Unset: the jwks_uri of AUTH_ISSUER/.well-known/openid-configuration.",
    },
    AUTH_CLOCK_SKEW_SECONDS: {
      type: 'integer',
      minimum: 0,
      maximum: 300,
      default: 30,
      description: "How far the issuer's clock may be from ours when exp, nbf and iat are checked.",
    },
    RATE_LIMIT_PER_SECOND: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 100000,
      default: 20,
      description:
        'Requests per second each client (its token client id; its IP address when AUTH_MODE is off) may make to /v1 on average, per process; beyond it 429 with Retry-After.',
    },
    RATE_LIMIT_BURST: {
      type: 'integer',
      minimum: 1,
      maximum: 1000000,
      default: 100,
      description: 'How many requests a client may make at once above RATE_LIMIT_PER_SECOND before it is slowed down.',
    },
    REQUEST_TIMEOUT_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 600000,
      default: 30000,
      description:
        'How long the HTTP API gives one request, from its first byte to the answer; a request still unanswered then gets 503 (headers must arrive within 10 s of connecting, or this if less).',
    },
    RECIPIENT_DIRECTORY_PATH: {
      type: 'string',
      minLength: 1,
      default: 'config/recipient-directory.yaml',
      description:
        'The recipient directory (YAML or JSON): kommunenummer → Frisklivssentral. Checked at start-up; any problem stops the process, naming its line. The default is a synthetic example.',
    },
    HOSPITAL_CONTACT_ORGANISATION: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description:
        'The hospital (or department) the handover packets name as the contact. With HOSPITAL_CONTACT_NAME and a phone or e-mail it is the fallback for discharges that give no hospitalContact; unset, every discharge must give one.',
    },
    HOSPITAL_CONTACT_NAME: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'Who (a person or a role) the municipality may call at the hospital, for the fallback contact.',
    },
    HOSPITAL_CONTACT_PHONE: {
      type: 'string',
      pattern: '^\\+?\\d[\\d ]{6,18}\\d$',
      description: 'Phone number of the fallback hospital contact.',
    },
    HOSPITAL_CONTACT_EMAIL: {
      type: 'string',
      pattern: '^[^@\\s]{1,64}@[^@\\s]+\\.[^@\\s]+$',
      description: 'E-mail address of the fallback hospital contact.',
    },
    HOSPITAL_HER_ID: {
      type: 'string',
      pattern: '^\\d{1,9}$',
      description:
        "The hospital's HER-id (organisation level) in Adresseregisteret: the sender of every e-message (MsgHead). Set together with the other HOSPITAL_* sender keys, or none of them.",
    },
    HOSPITAL_NAME: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: "The hospital's name as its Adresseregisteret entry gives it (MsgHead Sender OrganisationName).",
    },
    HOSPITAL_ORGANISATION_NUMBER: {
      type: 'string',
      pattern: '^\\d{9}$',
      description: "The hospital's organisation number (Enhetsregisteret, 9 digits, mod-11 checked at start-up).",
    },
    HOSPITAL_DEPARTMENT_HER_ID: {
      type: 'string',
      pattern: '^\\d{1,9}$',
      description:
        'HER-id of the department (the communication party under the hospital) that sends the handover and receives the application receipts.',
    },
    HOSPITAL_DEPARTMENT_NAME: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: "The sending department's name as in Adresseregisteret.",
    },
    HANDOVER_ACK_TIMEOUT_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 2592000000,
      default: 259200000,
      description:
        'How long after its packets are sent a handover may go unanswered by the Frisklivssentral before hit-bridge raises handover.overdue (once) and counts it (259200000 = 3 days).',
    },
    HANDOVER_CONSUMER_GROUP: {
      type: 'string',
      pattern: '^[A-Za-z0-9._-]{1,200}$',
      default: 'hit-bridge-handover',
      description:
        'Kafka consumer group (or embedded-log group) of the handover worker for discharge events; the status topic is read by this name + ".status".',
    },
    HANDOVER_STATUS_TOPIC: {
      type: 'string',
      pattern: '^[A-Za-z0-9._-]{1,249}$',
      default: 'no.hitbridge.handover.status.v1',
      description:
        'Topic where municipalities may publish acknowledgements (the POST /v1/handover-acknowledgements body).',
    },
    EDI_BASE_URL: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description:
        "NHN's message service (EDI 2.0, API v2), e.g. https://api.tjener.test.melding.nhn.no. Set, Frisklivssentraler on channel edi get the handover as a Dialogmelding over Norsk Helsenett; it needs HelseID (HELSEID_*, with a scope for EDI_HELSEID_AUDIENCE) and the HOSPITAL_* sender keys. Unset: they get the Kafka packet only (a warning at start-up says so).",
    },
    EDI_SOURCE_SYSTEM: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      default: 'hit-bridge',
      description: "The nhn-source-system header NHN asks of every call: this system's name (the version is added).",
    },
    EDI_HELSEID_AUDIENCE: {
      type: 'string',
      minLength: 1,
      default: 'nhn:msh',
      description:
        'The message service\'s audience in HelseID; HELSEID_SCOPES must hold a scope starting with "<audience>/" (nhn:msh/api).',
    },
    EDI_TIMEOUT_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 600000,
      default: 30000,
      description:
        'How long one call to the message service may take before it counts as a transient failure (the handover is retried; its MsgId stays the same).',
    },
    EDI_RECEIPT_POLL_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 3600000,
      default: 30000,
      description:
        "How soon after a handover's e-message is sent its application receipt is first asked for (EDI 2.0 v2 has no notifications); later asks back off, doubling up to EDI_RECEIPT_POLL_MAX_MS, until HANDOVER_ACK_TIMEOUT_MS after sending.",
    },
    EDI_RECEIPT_POLL_MAX_MS: {
      type: 'integer',
      minimum: 100,
      maximum: 86400000,
      default: 600000,
      description: 'The longest pause between two asks for an e-message’s application receipt (600000 = 10 minutes).',
    },
    HANDOVER_LEASE_MS: {
      type: 'integer',
      minimum: 1000,
      maximum: 3600000,
      default: 120000,
      description:
        'How long a handover worker holds a claimed handover or Task update; if its process dies, another worker takes it back after this.',
    },
    EHR_PROFILE: {
      type: 'string',
      enum: ['generic', 'dips-arena'],
      default: 'generic',
      description:
        'The shape of what is sent to the EHR (docs/adr/0021-dips-arena-profile.md). generic: richly linked FHIR R4 (Procedure, Observations, ServiceRequest, CarePlan, Goals) for any conformant server. dips-arena: the one resource DIPS Arena takes, a Procedure conforming to DIPSR4Procedure, created only, never updated; sessions, fitness tests and prescriptions must then carry episodeId (the DIPS care episode).',
    },
    NCMP_DIPS_CODING: {
      type: 'boolean',
      default: false,
      description:
        'Deprecated (use EHR_PROFILE=dips-arena for a DIPS Arena hospital; a warning is logged at start-up when set). In the generic profile, also code OBAB00 with the system urn:oid:2.16.578.1.12.4.1.1.7220, as DIPS codes NCMP.',
    },
  },
} as const;

type Schema = typeof configSchema;
type Properties = Schema['properties'];
type ValueOf<P> = P extends { type: 'integer' | 'number' } ? number : P extends { type: 'boolean' } ? boolean : string;
type WithDefault = {
  [K in keyof Properties]: Properties[K] extends { default: unknown } ? K : never;
}[keyof Properties];

export type Config = { readonly [K in WithDefault]: ValueOf<Properties[K]> } & {
  readonly [K in Exclude<keyof Properties, WithDefault>]?: ValueOf<Properties[K]>;
};

export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: string[] };

/** Reads a `<NAME>_FILE`; tests pass their own. */
export type ReadConfigFile = (path: string) => string;
const readUtf8: ReadConfigFile = (path) => readFileSync(path, 'utf8');

/** The keys marked `secret: true`: never shown, whatever else the configuration shows. */
export const SECRET_KEYS: readonly string[] = Object.entries(configSchema.properties)
  .filter(([, spec]) => 'secret' in spec && spec.secret)
  .map(([key]) => key);

/** Validates (and coerces) the environment. Never throws: the caller decides how to stop. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadConfigFile = readUtf8,
): ConfigResult {
  const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: true });
  addFormats.default(ajv);
  // An annotation only: which keys describeConfig and the error messages must never show.
  ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });
  const validate = ajv.compile(configSchema);
  const keys = Object.keys(configSchema.properties);
  const { values, errors } = gatherValues(keys, env, readFile);
  // Kept before validation coerces it: a wrong value is quoted as it was given.
  const given: Readonly<Record<string, string>> = { ...values };
  const candidate: Record<string, string> = values;
  if (errors.length === 0 && validate(candidate)) {
    const config = candidate as unknown as Config;
    const errors = crossFieldErrors(config);
    return errors.length === 0 ? { ok: true, config } : { ok: false, errors };
  }
  const schemaErrors = errors.length === 0 ? (validate.errors ?? []) : [];
  return {
    ok: false,
    errors: [...errors, ...schemaErrors.map((error) => describeError(error, (name) => given[name]))],
  };
}

/**
 * Each key's value from NAME or from the file NAME_FILE names (never both). Empty strings count
 * as unset: `FOO=` in a .env file or a Helm value left blank. Values are trimmed, so the newline
 * a secret file usually ends with is not part of the secret.
 */
function gatherValues(
  keys: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadConfigFile,
): { values: Record<string, string>; errors: string[] } {
  const values: Record<string, string> = {};
  const errors: string[] = [];
  const present = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  for (const key of keys) {
    const direct = present(key);
    const path = present(`${key}_FILE`);
    if (direct !== undefined && path !== undefined) {
      errors.push(`${key} and ${key}_FILE are both set; set only one of them`);
    } else if (path !== undefined) {
      let text: string;
      try {
        text = readFile(path).trim();
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        const why = typeof code === 'string' ? code : 'unreadable';
        errors.push(`${key}_FILE names a file that cannot be read (${path}: ${why})`);
        continue;
      }
      if (text === '') errors.push(`${key}_FILE names an empty file (${path})`);
      else values[key] = text;
    } else if (direct !== undefined) {
      values[key] = direct;
    }
  }
  return { values, errors };
}

/** Rules between variables, which the schema cannot say in words a person reads. */
function crossFieldErrors(config: Config): string[] {
  const errors: string[] = [];
  // Replicas share the database, so they must share the secret: a generated one would differ.
  if (config.DATABASE_URL !== undefined && config.PATIENT_KEY_SECRET === undefined) {
    errors.push(
      'PATIENT_KEY_SECRET is required when DATABASE_URL is set (every replica needs the same secret) (it is missing)',
    );
  }
  if (config.AUTH_MODE === 'jwt') {
    for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE'] as const) {
      if (config[name] === undefined) {
        errors.push(
          `${name} is required when AUTH_MODE is jwt, the default (set AUTH_MODE=off to run without authentication, for development only) (it is missing)`,
        );
      }
    }
  }
  errors.push(...ehrAuthErrors(config), ...ediErrors(config));
  return errors;
}

/** EDI needs HelseID with a scope for the message service, and a sender to send as. */
function ediErrors(config: Config): string[] {
  if (config.EDI_BASE_URL === undefined) return [];
  const errors: string[] = [];
  if (config.HELSEID_ISSUER === undefined) {
    errors.push(
      'HELSEID_ISSUER is required when EDI_BASE_URL is set: the message service takes HelseID tokens only (it is missing)',
    );
  }
  const audience = config.EDI_HELSEID_AUDIENCE;
  if (
    config.HELSEID_SCOPES !== undefined &&
    !config.HELSEID_SCOPES.split(/\s+/).some((scope) => scope.startsWith(`${audience}/`))
  ) {
    errors.push(
      `HELSEID_SCOPES must hold a scope starting with "${audience}/" (EDI_HELSEID_AUDIENCE, e.g. ${audience}/api) when EDI_BASE_URL is set (it has none)`,
    );
  }
  if (config.HOSPITAL_HER_ID === undefined) {
    errors.push(
      'HOSPITAL_HER_ID and the other HOSPITAL_* sender keys are required when EDI_BASE_URL is set (they are missing)',
    );
  }
  return errors;
}

/** The EHR authentication variables that belong together, checked together. */
function ehrAuthErrors(config: Config): string[] {
  const mode = effectiveEhrAuthMode(config);
  const errors: string[] = [];
  if (mode === 'bearer' && config.EHR_AUTH_TOKEN === undefined) {
    errors.push('EHR_AUTH_TOKEN is required when EHR_AUTH_MODE is bearer (it is missing)');
  }
  if (mode === 'smart-backend') {
    for (const name of ['EHR_CLIENT_ID', 'EHR_PRIVATE_KEY'] as const) {
      if (config[name] === undefined)
        errors.push(`${name} is required when EHR_AUTH_MODE is smart-backend (it is missing)`);
    }
    if (config.EHR_TOKEN_URL === undefined && config.EHR_BASE_URL === undefined) {
      errors.push(
        'EHR_TOKEN_URL is required when EHR_AUTH_MODE is smart-backend and EHR_BASE_URL is unset (it is missing)',
      );
    }
  }
  if (config.HELSEID_ISSUER !== undefined) {
    for (const name of ['HELSEID_CLIENT_ID', 'HELSEID_PRIVATE_KEY', 'HELSEID_SCOPES'] as const) {
      if (config[name] === undefined) errors.push(`${name} is required when HELSEID_ISSUER is set (it is missing)`);
    }
  }
  if (mode === 'helseid') {
    for (const name of ['HELSEID_ISSUER', 'HELSEID_EHR_AUDIENCE'] as const) {
      if (config[name] === undefined) errors.push(`${name} is required when EHR_AUTH_MODE is helseid (it is missing)`);
    }
    const audience = config.HELSEID_EHR_AUDIENCE;
    if (
      audience !== undefined &&
      config.HELSEID_SCOPES !== undefined &&
      !config.HELSEID_SCOPES.split(/\s+/).some((scope) => scope.startsWith(`${audience}/`))
    ) {
      errors.push(
        `HELSEID_SCOPES must hold a scope starting with "${audience}/" (HELSEID_EHR_AUDIENCE) when EHR_AUTH_MODE is helseid (it has none)`,
      );
    }
  }
  return errors;
}

export type EhrAuthMode = 'none' | 'bearer' | 'smart-backend' | 'helseid';

export function effectiveEhrAuthMode(config: Config): EhrAuthMode {
  return (config.EHR_AUTH_MODE as EhrAuthMode | undefined) ?? (config.EHR_AUTH_TOKEN === undefined ? 'none' : 'bearer');
}

function describeError(error: ErrorObject, raw: (name: string) => string | undefined): string {
  const name = error.instancePath.replace(/^\//, '') || String(error.params.missingProperty ?? '');
  const got = raw(name);
  const shown =
    got === undefined
      ? 'it is missing'
      : SECRET_KEYS.includes(name)
        ? `got ${got.length} characters, not shown`
        : `got "${maskUrlPassword(got)}"`;
  const rule = ruleText(error, name);
  return `${name} ${rule} (${shown})`;
}

/** Regular expressions are no answer for a person: what each pattern means, in words. */
const patternRules: Record<string, string> = {
  KAFKA_BROKERS: 'must be a comma-separated list of host:port',
  EHR_BASE_URL: 'must be an http:// or https:// URL',
  EHR_TOKEN_URL: 'must be an http:// or https:// URL',
  HELSEID_ISSUER: 'must be an http:// or https:// URL',
  HELSEID_PARENT_ORGNR: 'must be an organisation number: 9 digits',
  HELSEID_CHILD_ORGNR: 'must be an organisation number: 9 digits',
  DATABASE_URL: 'must be a postgres:// or postgresql:// URL',
  AUTH_ISSUER: 'must be an http:// or https:// URL',
  AUTH_JWKS_URL: 'must be an http:// or https:// URL',
  ROLES: 'must be a comma-separated list of api, ehr, relay, handover',
  HOSPITAL_CONTACT_PHONE: 'must be a phone number: digits and spaces, optionally starting with +',
  HOSPITAL_CONTACT_EMAIL: 'must be an e-mail address like name@example.no',
  HANDOVER_CONSUMER_GROUP: 'must be 1–200 letters, digits, ".", "_" or "-"',
  HANDOVER_STATUS_TOPIC: 'must be a Kafka topic name: 1–249 letters, digits, ".", "_" or "-"',
  LOG_REDACT: 'must be a comma-separated list of national-id, name, phone, email',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'must be an http:// or https:// URL',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'must be an http:// or https:// URL',
};

function ruleText(error: ErrorObject, name: string): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `must be ${params.type === 'integer' ? 'a whole number' : params.type === 'boolean' ? 'true or false' : `a ${String(params.type)}`}`;
    case 'exclusiveMinimum':
      return `must be more than ${String(params.limit)}`;
    case 'minimum':
      return `must be at least ${String(params.limit)}`;
    case 'maximum':
      return `must be at most ${String(params.limit)}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'format':
      return `must be a valid ${String(params.format)}`;
    case 'pattern':
      return patternRules[name] ?? `must match ${String(params.pattern)}`;
    case 'required':
      return 'is required';
    default:
      return error.message ?? 'is invalid';
  }
}

/** LOG_REDACT as the logger takes it. */
export function redactCategories(config: Config): RedactCategory[] {
  return [...new Set(config.LOG_REDACT.split(','))] as RedactCategory[];
}

/** For the start-up log: the effective configuration, with every secret and the database password masked. */
export function describeConfig(config: Config): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...config };
  if (config.DATABASE_URL !== undefined) shown.DATABASE_URL = maskUrlPassword(config.DATABASE_URL);
  for (const secret of SECRET_KEYS) {
    if (shown[secret] !== undefined) shown[secret] = '***';
  }
  return shown;
}

/** A connection URL with its password (in the user part or as a password= parameter) replaced by ***. */
function maskUrlPassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@').replace(/([?&]password=)[^&]*/gi, '$1***');
}
