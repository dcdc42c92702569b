/**
 * Mapping + validation in process, in CPU microseconds: what the service spends on one input between parsing its
 * JSON and storing it (validation) and between claiming it and posting it (mapping), for every
 * golden fixture of each kind, after a warm-up so the JIT has settled.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAPPING_OPTIONS } from '../../mappings/common.ts';
import { mappers } from '../../mappings/registry.ts';
import { loadContracts } from '../../src/intake/contracts.ts';
import { createInputValidator } from '../../src/contracts/input-validator.ts';
import { fixtureCases, readInput } from '../../test/support/fixtures.ts';
import { round } from './accept.ts';
import { RECORD_KINDS, type RecordKind } from '../../src/kinds/kinds.ts';

export interface MappingFigures {
  readonly kind: RecordKind;
  readonly fixtures: number;
  readonly iterations: number;
  readonly validateMicros: number;
  readonly mapMicros: number;
  readonly totalMicros: number;
}

/**
 * Calls before measuring, per step. V8 goes on optimising (and deoptimising and re-optimising) the
 * mapping's functions for some 15,000–20,000 calls of a session (--trace-opt, bench/README.md), and
 * its compiler threads' CPU counts in process.cpuUsage: after the 2,000 calls this warmed up with
 * before, the figure was up to twice the settled one, most of it the compiler at work, which a
 * long-running service pays once.
 */
const SETTLED_AFTER_CALLS = 20_000;

/**
 * The same figures from a child Node started with `nodeFlags`: the service's flags decide which of
 * V8's compilers run the mapping (docs/adr/0054-no-maglev.md), and the bench's own process runs
 * without them.
 */
export function measureMappingWithFlags(iterations: number, nodeFlags: readonly string[]): MappingFigures[] {
  const script = fileURLToPath(new URL('../mapping-only.ts', import.meta.url));
  const output = execFileSync(process.execPath, [...nodeFlags, script, String(iterations)], { encoding: 'utf8' });
  return JSON.parse(output) as MappingFigures[];
}

export function measureMapping(iterations: number): MappingFigures[] {
  // Short runs (the bench's own test) warm up in proportion.
  const warmUp = Math.min(4 * iterations, SETTLED_AFTER_CALLS);
  const validator = createInputValidator(loadContracts().schemas);
  return RECORD_KINDS.map((kind) => {
    const inputs = fixtureCases([kind]).map((fixture) => readInput(fixture) as unknown);
    const validateOnce = (input: unknown): unknown => validator.validate(kind, input);
    const mapOnce = (input: unknown): unknown => mappers[kind](input as never, DEFAULT_MAPPING_OPTIONS);
    const time = (work: (input: unknown) => unknown, count: number): number => {
      let sink = 0;
      // CPU time, not wall time: on a shared machine the wall clock also counts the time this
      // process waited for a core, which is not the cost of mapping.
      const started = process.cpuUsage();
      for (let index = 0; index < count; index += 1) {
        if (work(inputs[index % inputs.length]) !== undefined) sink += 1;
      }
      const used = process.cpuUsage(started);
      const micros = (used.user + used.system) / count;
      if (sink !== count) throw new Error(`${kind}: a call returned nothing`);
      return micros;
    };
    time(validateOnce, warmUp);
    time(mapOnce, warmUp);
    const validateMicros = time(validateOnce, iterations);
    const mapMicros = time(mapOnce, iterations);
    return {
      kind,
      fixtures: inputs.length,
      iterations,
      validateMicros: round(validateMicros, 1),
      mapMicros: round(mapMicros, 1),
      totalMicros: round(validateMicros + mapMicros, 1),
    };
  });
}
