import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  addLogContext,
  addPersonalValues,
  createLogger,
  logRequest,
  withLogContext,
} from '../../../src/platform/logger.ts';
import { withCheckDigits } from '../domain/synthetic-national-ids.ts';

const NATIONAL_ID = withCheckDigits('018190123');

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('logger', () => {
  it('writes JSON lines with level names and the service name', () => {
    const out = capture();
    createLogger({ level: 'info', pretty: false, destination: out.stream }).info({ port: 1 }, 'listening');
    expect(out.lines()[0]).toMatchObject({ level: 'info', service: 'hit-bridge', port: 1, msg: 'listening' });
  });

  it('never writes a national id, name, phone or email, wherever it sits in the object', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    const nationalId = NATIONAL_ID;
    logger.info(
      {
        patient: { nationalId, givenName: 'Kari' },
        discharge: { trainingContact: { name: 'Ola', phone: '+4790000000' }, email: 'kari@example.org' },
        nationalId,
      },
      'discharge received',
    );
    const written = JSON.stringify(out.lines());
    for (const secret of [nationalId, 'Kari', 'Ola', '+4790000000', 'kari@example.org']) {
      expect(written).not.toContain(secret);
    }
    expect(written).toContain('[redacted]');
  });

  it('carries the request id of a child logger on every line', () => {
    const out = capture();
    const child = createLogger({ level: 'info', pretty: false, destination: out.stream }).child({ requestId: 'r-1' });
    child.info('a');
    child.warn('b');
    expect(out.lines().map((line) => line.requestId)).toEqual(['r-1', 'r-1']);
  });

  it('puts the context (request id, then submission id) on every line inside it, also after an await, and nowhere else', async () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    await withLogContext({ requestId: 'r-1' }, async () => {
      logger.info('before');
      await new Promise((resolve) => setTimeout(resolve, 5));
      addLogContext({ submissionId: 's-1' });
      logger.child({ component: 'fhir-ehr' }).warn('inside a component');
    });
    logger.info('outside');
    expect(out.lines().map(({ requestId, submissionId, msg }) => ({ requestId, submissionId, msg }))).toEqual([
      { requestId: 'r-1', submissionId: undefined, msg: 'before' },
      { requestId: 'r-1', submissionId: 's-1', msg: 'inside a component' },
      { requestId: undefined, submissionId: undefined, msg: 'outside' },
    ]);
  });

  it('scrubs free text by value: the message, error messages and stacks, nested strings', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    logger.warn(
      { reason: `HAPI-1091: no Patient ${NATIONAL_ID}`, err: new Error(`ring +47 400 00 001 or kari@example.no`) },
      `EHR said: ${NATIONAL_ID.slice(0, 6)} ${NATIONAL_ID.slice(6)}`,
    );
    const written = JSON.stringify(out.lines());
    for (const secret of [NATIONAL_ID, NATIONAL_ID.slice(6), '400 00 001', 'kari@example.no']) {
      expect(written).not.toContain(secret);
    }
    expect(out.lines()[0]).toMatchObject({ msg: 'EHR said: [national id]', err: { type: 'Error' } });
  });

  it("scrubs the names of the input being handled wherever they turn up in the context's lines", () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
    withLogContext({ submissionId: 's-2' }, () => {
      addPersonalValues({
        patient: { nationalId: NATIONAL_ID, givenName: 'Kari' },
        recipients: { trainingContact: { name: 'Ola Nordmann' } },
      });
      logger.warn({ reason: 'Patient Kari Nordmann unknown' }, 'contact OLA NORDMANN');
    });
    logger.info('Kari outside the context is not known');
    const [inside, outside] = out.lines();
    expect(inside).toMatchObject({ reason: 'Patient [redacted] [redacted] unknown', msg: 'contact [redacted]' });
    expect(outside?.msg).toBe('Kari outside the context is not known');
  });

  it('redacts only the categories LOG_REDACT lists', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', pretty: false, redact: ['national-id'], destination: out.stream });
    logger.info({ patient: { nationalId: NATIONAL_ID, givenName: 'Kari' }, email: 'kari@example.no' }, 'x');
    expect(out.lines()[0]).toMatchObject({
      patient: { nationalId: '[redacted]', givenName: 'Kari' },
      email: 'kari@example.no',
    });
  });

  describe('the request line (logRequest)', () => {
    it('is a JSON line like any other: level, time, service, the fields given, msg "request"', () => {
      const out = capture();
      const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
      logRequest(logger, { requestId: 'r-1', method: 'POST', route: '/v1/hit-sessions', status: 202, ms: 3 });
      const [line] = out.lines();
      expect(line).toMatchObject({
        level: 'info',
        service: 'hit-bridge',
        requestId: 'r-1',
        method: 'POST',
        route: '/v1/hit-sessions',
        status: 202,
        ms: 3,
        msg: 'request',
      });
      expect(typeof line?.time).toBe('string');
    });

    it("scrubs every field by value, the input's own personal values included, and replaces a field named for personal data", () => {
      const out = capture();
      const logger = createLogger({ level: 'info', pretty: false, destination: out.stream });
      withLogContext({ requestId: 'r-1' }, () => {
        addPersonalValues({ patient: { nationalId: NATIONAL_ID, givenName: 'Kari', familyName: 'Nordmann' } });
        logRequest(logger, {
          requestId: 'Nordmann-1',
          route: `/v1/${NATIONAL_ID}`,
          method: 'kari@example.org',
          nationalId: 'not-a-pattern-match',
          status: 202,
        });
      });
      const written = JSON.stringify(out.lines());
      for (const secret of ['Nordmann', NATIONAL_ID, 'kari@example.org', 'not-a-pattern-match']) {
        expect(written).not.toContain(secret);
      }
      expect(out.lines()[0]).toMatchObject({ nationalId: '[redacted]', status: 202 });
    });

    it('is written only at level info or below, and by a logger not made here as an ordinary line', () => {
      const quiet = capture();
      logRequest(createLogger({ level: 'warn', pretty: false, destination: quiet.stream }), { status: 200 });
      expect(quiet.lines()).toEqual([]);
      const other = capture();
      logRequest(pino(other.stream), { status: 200 });
      expect(other.lines()[0]).toMatchObject({ status: 200, msg: 'request' });
    });
  });
});
