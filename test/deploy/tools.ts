/**
 * Where the deployment tests find their tools: the binaries and the venv `.ci/deploy-tools`
 * installs under ${HIT_BRIDGE_CACHE:-$HOME/.cache/hit-bridge}. A missing tool fails the test with
 * the command that installs it: these checks are never skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const cache = process.env.HIT_BRIDGE_CACHE ?? join(homedir(), '.cache', 'hit-bridge');
const venv = join(cache, 'venv-deploy');

function installed(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: run .ci/deploy-tools`);
  return path;
}

export const tools = {
  helm: () => installed(join(cache, 'bin', 'helm')),
  kubeconform: () => installed(join(cache, 'bin', 'kubeconform')),
  hadolint: () => installed(join(venv, 'bin', 'hadolint')),
  /** The Kubernetes JSON schemas bundled by the kubernetes-validate package (one folder per version). */
  kubernetesSchemas: (): string => {
    const lib = installed(join(venv, 'lib'));
    const python = readdirSync(lib).find((name) => name.startsWith('python3'));
    if (python === undefined) throw new Error(`no python3 under ${lib}: run .ci/deploy-tools`);
    return installed(join(lib, python, 'site-packages', 'kubernetes_validate', 'kubernetes-json-schema'));
  },
};

export interface Ran {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (no shell); never throws on a non-zero exit. */
export function run(command: string, args: readonly string[], input?: string): Ran {
  const result = spawnSync(command, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
