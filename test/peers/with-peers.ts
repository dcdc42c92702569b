/**
 * `node test/peers/with-peers.ts -- <command…>`: starts the real peers, runs the command with
 * KAFKA_BROKERS, EHR_BASE_URL and DATABASE_URL pointing at them, stops the peers whatever
 * happens, and exits with the command's exit code.
 *
 * With HIT_BRIDGE_PEERS=external the peers already named in the environment are used as they
 * are (e.g. after `eval "$(npm run -s peers:up)"`), and nothing is started or stopped.
 */
import { spawn } from 'node:child_process';
import { claimRunDir, envLines, peerEnv, startPeers, stopPeers } from './all.ts';
import type { RunningPeer } from './peer.ts';

const separator = process.argv.indexOf('--');
const [command, ...args] = separator === -1 ? [] : process.argv.slice(separator + 1);
if (command === undefined) {
  console.error('usage: node test/peers/with-peers.ts -- <command> [args…]');
  process.exit(2);
}

let peers: RunningPeer[] = [];
if (process.env.HIT_BRIDGE_PEERS !== 'external') {
  const started = Date.now();
  peers = await startPeers({ runDir: claimRunDir(process.cwd(), 'test') });
  for (const peer of peers) {
    console.error(
      `peer ${peer.name.padEnd(8)} ready in ${(peer.readyMs / 1000).toFixed(1)} s  ${peer.url}  (log: ${peer.logFile})`,
    );
  }
  console.error(`all peers ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The peers' addresses go to the log; their passwords and client secrets (throwaway, but
  // secrets all the same) do not.
  const shown = Object.fromEntries(
    Object.entries(peerEnv(peers)).map(([name, value]) => [
      name,
      /PASSWORD|SECRET/.test(name) ? '***' : value.replace(/:[^:@/]+@/, ':***@'),
    ]),
  );
  console.error(envLines(shown).join('\n'));
}

const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...peerEnv(peers) } });
// Whatever the command does, the peers are stopped within a bound: CI has 90 minutes in all.
const limitMs = Number(process.env.HIT_BRIDGE_TEST_LIMIT_MS ?? 45 * 60_000);
const limit = setTimeout(() => {
  console.error(`with-peers: "${command}" ran longer than ${limitMs} ms; stopping it and the peers`);
  child.kill('SIGKILL');
}, limitMs);
limit.unref();
const forward = (signal: NodeJS.Signals): void => {
  child.kill(signal);
};
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
const code = await new Promise<number>((resolve) => {
  child.once('exit', (exitCode, signal) => {
    resolve(exitCode ?? (signal ? 128 + 15 : 1));
  });
});
clearTimeout(limit);
await stopPeers(peers);
process.exit(code);
