import { Writable } from 'node:stream';
import { createLogger } from '../../../src/platform/logger.ts';

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
    const nationalId = '01819012345';
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
});
