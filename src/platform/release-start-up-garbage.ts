/**
 * Gives back the memory start-up used and no longer needs. Loading and compiling the modules
 * grows V8's young generation to its cap (2 × 8 MB) and leaves the old space a third garbage, and
 * V8 does not shrink either on its own while the service idles: its memory reducer waits for a
 * low allocation rate, which it measures at garbage collections, and an idle service collects
 * nothing. One memory-reducing full collection once the service is ready (two mark-compacts,
 * 40–120 ms on this machine) takes the idle RSS from ~118 to ~95 MB; load grows the young
 * generation again as far as it needs (docs/adr/0051-start-up-garbage-released-once-ready.md).
 *
 * V8 offers that collection only through its gc extension, which `--expose-gc` installs (as
 * `npm start` and the image run the service); without the flag this does nothing.
 */
interface GcOptions {
  readonly type: 'major';
  readonly execution: 'sync';
  /** last-resort: V8's CollectAllAvailableGarbage, which shrinks the heap's spaces as it goes. */
  readonly flavor: 'last-resort';
}

export function releaseStartUpGarbage(): void {
  const gc = (globalThis as { gc?: (options: GcOptions) => void }).gc;
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
