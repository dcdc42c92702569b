/**
 * Only the in-process mapping + validation figures, as JSON on stdout: the bench runs it with the
 * service's Node flags, and it serves for profiling:
 * `npx node --cpu-prof --cpu-prof-dir=bench/tmp bench/mapping-only.ts [iterations]`.
 */
import { measureMapping } from './lib/mapping.ts';

process.stdout.write(`${JSON.stringify(measureMapping(Number(process.argv[2] ?? 5_000)), null, 2)}\n`);
