/**
 * Nothing of ours warns when the service starts. kafkajs 2.2.4's request queue scheduled its
 * throttle check at `throttledUntil - Date.now()` ms with throttledUntil starting at -1: a
 * negative delay, for which Node 24 prints a TimeoutNegativeWarning on every connection.
 * It also re-armed itself every millisecond while the connection lived. patches/kafkajs+2.2.4.patch
 * schedules a check only when a request is pending (docs/adr/0023).
 */
import { spawnSync } from 'node:child_process';

// Run by the project's Node: a queue that has sent everything must leave no timer behind (the
// process exits by itself), and one holding a request still sends it after the check interval.
const SCRIPT = `
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
const quiet = () => {};
const queue = () => new RequestQueue({
  maxInFlightRequests: 1, requestTimeout: 1000, enforceRequestTimeout: false,
  clientId: 'quiet-start', broker: '127.0.0.1:9092',
  logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
});
queue().checkPendingRequests();
const holding = queue();
holding.pending.push({ expectResponse: true, correlationId: 1, send: () => console.log('sent') });
holding.scheduleCheckPendingRequests();
`;

describe('kafkajs on Node 24 (patches/kafkajs+2.2.4.patch)', () => {
  it('checks its request queue without a TimeoutNegativeWarning, leaves no timer when idle, and still sends what is pending', () => {
    const result = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', timeout: 10_000 });
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 0,
      stdout: 'sent\n',
      stderr: '',
    });
  });
});
