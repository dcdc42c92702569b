/**
 * Only the recording-import figures (parse + detect per hour of 1 Hz recording), without peers:
 * `npx node bench/recording-only.ts [iterations]` (add `--cpu-prof` to profile).
 */
import { measureRecording } from './lib/recording.ts';

process.stdout.write(`${JSON.stringify(measureRecording(Number(process.argv[2] ?? 20)), null, 2)}\n`);
