/**
 * Loaded with `node --import` ahead of the service by start-up-modules.test.ts. It records every
 * module file loaded and every Intl object made, and on SIGUSR2 writes them, with Node's own list
 * of the built-in modules it has loaded and the size of each V8 heap space, to the file START_UP_PROBE_OUT names.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';

const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});

const intlMade: string[] = [];
for (const name of ['DateTimeFormat', 'NumberFormat', 'Collator', 'PluralRules', 'RelativeTimeFormat', 'ListFormat']) {
  const original = Reflect.get(Intl, name) as (...args: unknown[]) => unknown;
  const counted = new Proxy(original, {
    construct(target, args, newTarget) {
      intlMade.push(name);
      return Reflect.construct(target, args, newTarget) as object;
    },
    apply(target, self, args) {
      intlMade.push(name);
      return Reflect.apply(target, self, args);
    },
  });
  Object.defineProperty(Intl, name, { value: counted, writable: true, configurable: true });
}
const localeCompare = Reflect.get(String.prototype, 'localeCompare') as (...args: unknown[]) => number;
Object.defineProperty(String.prototype, 'localeCompare', {
  value: function counted(this: string, ...args: unknown[]): number {
    intlMade.push('localeCompare');
    return Reflect.apply(localeCompare, this, args);
  },
  writable: true,
  configurable: true,
});

const out = process.env.START_UP_PROBE_OUT;
if (out === undefined) throw new Error('START_UP_PROBE_OUT is not set');
process.on('SIGUSR2', () => {
  const builtins = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  const heapSpaces = Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size]));
  writeFileSync(out, JSON.stringify({ files: [...loaded], builtins, intlMade, heapSpaces }));
});
