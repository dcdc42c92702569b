/**
 * Where the patient-key secret comes from: the configuration, or — on the embedded store only —
 * a random one generated once into DATA_DIR (mode 0600) and reused on every start, so keys stay
 * stable for that installation.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function patientKeySecret(
  configured: string | undefined,
  dataDir: string,
): { secret: string; generated: boolean } {
  if (configured !== undefined) return { secret: configured, generated: false };
  const file = join(dataDir, 'patient-key.secret');
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim(), generated: false };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, generated: true };
}
