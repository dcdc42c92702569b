/**
 * `npm run peers:up`: starts Kafka, HAPI FHIR and PostgreSQL for a person or a demo, leaves them
 * running, and prints the lines that point hit-bridge at them (stdout, ready for `eval` or a
 * .env file); their URLs and logs go to stderr. `npm run peers:down` stops them.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_PEERS, claimRunDir, envLines, peerEnv, startPeers, type PeerName } from './all.ts';
import { stopProcessGroup } from './process.ts';

interface PeerState {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
}

const upDir = join(process.cwd(), '.peers', 'up');
const stateFile = join(upDir, 'running.json');

async function up(): Promise<void> {
  if (existsSync(stateFile)) {
    console.error(`peers already running (${stateFile}); run "npm run peers:down" first`);
    process.exit(1);
  }
  // `peers:up -- hapi keycloak` starts only those; no names: all of them.
  const names = process.argv.slice(3).filter((name): name is PeerName => (ALL_PEERS as string[]).includes(name));
  if (names.length !== process.argv.length - 3) {
    console.error(`peer names are ${ALL_PEERS.join(', ')}`);
    process.exit(2);
  }
  const peers = await startPeers({
    runDir: claimRunDir(process.cwd(), 'up'),
    ...(names.length > 0 ? { peers: names } : {}),
  });
  const state: PeerState[] = peers.map(({ name, pid, url }) => ({ name, pid, url }));
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  for (const peer of peers) {
    console.error(
      `${peer.name.padEnd(8)} ${peer.url}  (ready in ${(peer.readyMs / 1000).toFixed(1)} s, log: ${peer.logFile})`,
    );
  }
  const lines = envLines(peerEnv(peers));
  writeFileSync(join(upDir, 'env'), `${lines.join('\n')}\n`, { mode: 0o600 });
  console.log(lines.join('\n'));
  // The peers lead their own process groups and write to their own log files: they outlive us.
  process.exit(0);
}

async function down(): Promise<void> {
  if (!existsSync(stateFile)) {
    console.error('no peers running (nothing recorded by "npm run peers:up")');
    return;
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as PeerState[];
  await Promise.all(state.map((peer) => stopProcessGroup(peer.pid)));
  rmSync(stateFile);
  console.error(`stopped ${state.map((peer) => peer.name).join(', ')}`);
}

const verb = process.argv[2];
if (verb === 'up') await up();
else if (verb === 'down') await down();
else {
  console.error('usage: node test/peers/cli.ts up|down');
  process.exit(2);
}
