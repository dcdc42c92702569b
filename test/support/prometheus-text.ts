/** Reading what GET /metrics answers, for tests and the demo. */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The Prometheus text exposition format, sample lines only (# HELP / # TYPE and blank lines skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    let at = 0;
    while (at < line.length && line[at] !== '{' && line[at] !== ' ') at++;
    const name = line.slice(0, at);
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const equals = line.indexOf('=', at);
        const key = line.slice(at, equals).trim();
        if (line[equals + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
        let value = '';
        for (at = equals + 2; line[at] !== '"'; at++) {
          const char = line[at];
          if (char === undefined) throw new Error(`unterminated label value in: ${line}`);
          if (char === '\\') {
            at++;
            value += line[at] === 'n' ? '\n' : (line[at] ?? '');
          } else value += char;
        }
        labels[key] = value;
        at++;
        if (line[at] === ',') at++;
      }
      at++;
    }
    const [valueText = ''] = line.slice(at).trim().split(' ');
    // prom-client writes NaN as "Nan" (Prometheus reads either: Go's ParseFloat ignores case).
    const value =
      valueText === '+Inf'
        ? Infinity
        : valueText === '-Inf'
          ? -Infinity
          : /^nan$/i.test(valueText)
            ? NaN
            : Number(valueText);
    if (name === '' || valueText === '') throw new Error(`not a sample line: ${line}`);
    samples.push({ name, labels, value });
  }
  return samples;
}
