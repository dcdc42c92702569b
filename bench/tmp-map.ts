import { measureMapping } from './lib/mapping.ts';
console.log(JSON.stringify(measureMapping(Number(process.argv[2] ?? 3000))));
