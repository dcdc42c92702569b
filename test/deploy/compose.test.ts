/**
 * docker-compose.yml, without a Docker engine: valid against the Compose Specification schema and
 * free of dclint's errors (dclint bundles the schema), with the peers at the versions the tests run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { run } from './tools.ts';

interface Compose {
  services: Record<string, { image?: string }>;
}

describe('docker-compose.yml', () => {
  it('is valid Compose and passes dclint without errors', () => {
    const linted = run(process.execPath, [
      join('node_modules', 'dclint', 'bin', 'dclint.cjs'),
      '--quiet',
      '--color=false',
      'docker-compose.yml',
    ]);
    expect((linted.stdout + linted.stderr).trim()).toBe('');
    expect(linted.status).toBe(0);
  });

  it('runs the peers at the images test/peers/containers.ts pins', () => {
    const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as Compose;
    const pinned = readFileSync(join('test', 'peers', 'containers.ts'), 'utf8');
    const kafka = /apache\/kafka:\$\{process\.env\.KAFKA_VERSION \?\? '([^']+)'\}/.exec(pinned)?.[1];
    const hapi = /HAPI_IMAGE = '([^']+)'/.exec(pinned)?.[1];
    const postgres = /POSTGRES_IMAGE = '([^']+)'/.exec(pinned)?.[1];
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${String(kafka)}`);
    expect(compose.services.hapi?.image).toBe(hapi);
    expect(compose.services.postgres?.image).toBe(postgres);
  });
});
