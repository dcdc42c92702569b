import {
  escapeXml,
  formatNumberNo,
  labelledTableXhtml,
  narrativeTable,
  xhtmlNarrativeTable,
  xhtmlTable,
} from '../../../mappings/common.ts';

/** What nb-NO Intl writes, the reference formatNumberNo is held to. */
function intlNo(value: number, maximumFractionDigits: number): string {
  return new Intl.NumberFormat('nb-NO', { maximumFractionDigits, useGrouping: false }).format(value);
}

/** A fixed pseudo-random sequence (a linear congruential generator), so a failure can be replayed. */
function* seeded(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield state / 2_147_483_648;
  }
}

describe('formatNumberNo', () => {
  it('writes a decimal comma and rounds half away from zero, as Intl does', () => {
    expect(formatNumberNo(42.5)).toBe('42,5');
    expect(formatNumberNo(161.25)).toBe('161,3');
    expect(formatNumberNo(0.05)).toBe('0,1');
    expect(formatNumberNo(9.95)).toBe('10');
    expect(formatNumberNo(99.96)).toBe('100');
    expect(formatNumberNo(84.5, 0)).toBe('85');
    expect(formatNumberNo(182.47999999999999, 2)).toBe('182,48');
    expect(formatNumberNo(6.0000001)).toBe('6');
  });

  it('gives what nb-NO Intl gives, at the values narratives show and at random ones', () => {
    const random = seeded(20_261_205);
    const next = (): number => random.next().value as number;
    const values = [0.05, 0.15, 0.95, 1.005, 2.675, 0.125, 1e-7, 123_456_789.55, 1e21, 2 ** 53 + 2, -1.5, -0.04];
    for (let i = 0; i < 20_000; i += 1) {
      values.push(Math.round(next() * 300_000) / 1000); // heart rates, loads, minutes to three places
      values.push(next() * 10 ** Math.floor(next() * 9)); // full-precision doubles of any size
      values.push(Math.round(next() * 4000) / 20 + 0.005); // halves in the last shown place
    }
    const differing = [0, 1, 2, 3].flatMap((digits) =>
      values.filter((value) => formatNumberNo(value, digits) !== intlNo(value, digits)).map((v) => `${v}/${digits}`),
    );
    expect(differing).toEqual([]);
  });
});

describe('narrative XHTML', () => {
  it('escapes labels and values and leaves out rows without a value', () => {
    expect(
      labelledTableXhtml([
        ['Fart & stigning', '<6 km/t>'],
        ['Tom', undefined],
        ["O'Neil", '"sitat"'],
      ]),
    ).toBe(
      '<table><tr><th>Fart &#38; stigning</th><td>&#60;6 km/t&#62;</td></tr>' +
        '<tr><th>O&#39;Neil</th><td>&#34;sitat&#34;</td></tr></table>',
    );
    expect(escapeXml('ingenting å gjøre')).toBe('ingenting å gjøre');
  });

  it('puts the values of an XHTML table in as they are (the caller escaped input text) and still escapes labels', () => {
    expect(
      xhtmlTable([
        ['Fart & stigning', '6 km/t, <i>8 %</i>'],
        ['Tom', undefined],
      ]),
    ).toBe('<table><tr><th>Fart &#38; stigning</th><td>6 km/t, <i>8 %</i></td></tr></table>');
    const rows = [['Øvelse', 'Knebøy &#38; utfall']] as const;
    expect(xhtmlNarrativeTable('Styrke: Knebøy &#38; utfall', rows).div).toBe(
      '<div xmlns="http://www.w3.org/1999/xhtml"><p><b>Styrke: Knebøy &#38; utfall</b></p>' +
        '<table><tr><th>Øvelse</th><td>Knebøy &#38; utfall</td></tr></table></div>',
    );
    // The same table from unescaped text, through the escaping variant, is the same XHTML.
    expect(narrativeTable('Styrke: Knebøy & utfall', [['Øvelse', 'Knebøy & utfall']])).toEqual(
      xhtmlNarrativeTable('Styrke: Knebøy &#38; utfall', rows),
    );
  });
});
