import {
  BORG_ANCHORS,
  borgAnchor,
  borgVersusIntervalZone,
  INTERVAL_ZONE_BORG,
  olympiatoppenZoneForBorg,
  OLYMPIATOPPEN_ZONES,
  parseBorgRpe,
  type BorgRpe,
} from '../../../src/domain/borg.ts';

describe('parseBorgRpe', () => {
  test('accepts every whole number from 6 to 20', () => {
    for (let score = 6; score <= 20; score += 1) expect(parseBorgRpe(score)).toEqual({ ok: true, value: score });
  });

  test.each([5, 21, 0, 15.5, Number.NaN])('rejects %p', (score) => {
    expect(parseBorgRpe(score)).toEqual({ ok: false, reason: 'a Borg RPE score must be a whole number from 6 to 20' });
  });
});

describe('Borg anchors', () => {
  test('labels 6, 7, 9, 11, 13, 15, 17, 19 and 20 and leaves the even scores 8–18 unlabelled', () => {
    expect(Object.keys(BORG_ANCHORS).map(Number)).toEqual([6, 7, 9, 11, 13, 15, 17, 19, 20]);
    expect(borgAnchor(8)).toBeUndefined();
    expect(borgAnchor(16)).toBeUndefined();
  });

  test('gives the anchors in English and in the Swedish original as the reference does', () => {
    expect(borgAnchor(6)).toEqual({ en: 'No exertion at all', sv: 'Ingen ansträngning alls' });
    expect(borgAnchor(13)).toEqual({ en: 'Somewhat hard', sv: 'Något ansträngande' });
    expect(borgAnchor(17)).toEqual({ en: 'Very hard', sv: 'Mycket ansträngande' });
    expect(borgAnchor(20)).toEqual({ en: 'Maximal exertion', sv: 'Maximalt ansträngande' });
  });
});

describe('Borg and the 4x4 interval zone', () => {
  test('maps 85–95 % of HRmax to Borg 16–18 (St. Olavs)', () => {
    expect(INTERVAL_ZONE_BORG).toMatchObject({ low: 16, high: 18, percentHrMax: { low: 85, high: 95 } });
  });

  test.each<[BorgRpe, string]>([
    [15, 'below'],
    [16, 'within'],
    [18, 'within'],
    [19, 'above'],
  ])('places Borg %i %s the interval zone', (score, where) => {
    expect(borgVersusIntervalZone(score)).toBe(where);
  });
});

describe('Olympiatoppen intensity zones', () => {
  test('cover Borg 6–20 once each, with Norwegian descriptions', () => {
    const covered = OLYMPIATOPPEN_ZONES.flatMap((z) =>
      Array.from({ length: z.borgHigh - z.borgLow + 1 }, (_, i) => z.borgLow + i),
    );
    expect(covered).toEqual(Array.from({ length: 15 }, (_, i) => 6 + i));
  });

  test('put the 4x4 zone’s Borg 16–18 in I-4 (Anstrengende) and I-5 (Veldig anstrengende)', () => {
    expect(olympiatoppenZoneForBorg(16)).toMatchObject({ zone: 'I-4', nb: 'Anstrengende' });
    expect(olympiatoppenZoneForBorg(17)).toMatchObject({ zone: 'I-5', nb: 'Veldig anstrengende' });
    expect(olympiatoppenZoneForBorg(13)).toMatchObject({ zone: 'I-3', nb: 'Behagelig anstrengende' });
  });
});
