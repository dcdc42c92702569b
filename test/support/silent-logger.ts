/** A logger that writes nothing, for tests and tools whose subject is not the log. */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/platform/logger.ts';

export const silentLogger = createLogger({
  level: 'silent',
  pretty: false,
  destination: new Writable({
    write: (_chunk, _encoding, done) => {
      done();
    },
  }),
});
