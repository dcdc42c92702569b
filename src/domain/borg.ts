import { invalid, ok, type Result } from './result.ts';

// Borg RPE 6–20 (docs/reference/fitness.md §7). The sources give the verbal anchors in
// Swedish (the Region Stockholm/farledare.se original) and English (Lumen Learning for 6–13, a
// translation of the Swedish for 15–20; Borg's licensed English wording was not retrieved).
// It gives NO Norwegian Borg anchors, so none are invented here; the only sourced Norwegian
// wording is the Olympiatoppen intensity scale's zone descriptions, below, which carry Borg ranges.

export type BorgRpe = 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20;

const BORG_MIN = 6;
const BORG_MAX = 20;

export function parseBorgRpe(value: number): Result<BorgRpe> {
  if (!Number.isInteger(value) || value < BORG_MIN || value > BORG_MAX) {
    return invalid('a Borg RPE score must be a whole number from 6 to 20');
  }
  return ok(value as BorgRpe);
}

export type BorgAnchor = { readonly en: string; readonly sv: string };

/** Only these scores are labelled; 8, 10, 12, 14, 16 and 18 have no anchor on the scale. */
export const BORG_ANCHORS: Readonly<Partial<Record<BorgRpe, BorgAnchor>>> = {
  6: { en: 'No exertion at all', sv: 'Ingen ansträngning alls' },
  7: { en: 'Extremely light', sv: 'Extremt lätt' },
  9: { en: 'Very light', sv: 'Mycket lätt' },
  11: { en: 'Light', sv: 'Lätt' },
  13: { en: 'Somewhat hard', sv: 'Något ansträngande' },
  15: { en: 'Hard / heavy', sv: 'Ansträngande' },
  17: { en: 'Very hard', sv: 'Mycket ansträngande' },
  19: { en: 'Extremely hard', sv: 'Extremt ansträngande' },
  20: { en: 'Maximal exertion', sv: 'Maximalt ansträngande' },
};

export function borgAnchor(score: BorgRpe): BorgAnchor | undefined {
  return BORG_ANCHORS[score];
}

/**
 * 85–95 % of HRmax corresponds to Borg 16–18 (St. Olavs, Nasjonal kompetansetjeneste Trening
 * som medisin; docs/reference/fitness.md §4).
 */
export const INTERVAL_ZONE_BORG = {
  low: 16,
  high: 18,
  percentHrMax: { low: 85, high: 95 },
  source: 'St. Olavs hospital, Nasjonal kompetansetjeneste Trening som medisin',
} as const;

/** Where a reported Borg score sits against the 4x4 interval zone's expected 16–18. */
export function borgVersusIntervalZone(score: BorgRpe): 'below' | 'within' | 'above' {
  if (score < INTERVAL_ZONE_BORG.low) return 'below';
  return score > INTERVAL_ZONE_BORG.high ? 'above' : 'within';
}

export type OlympiatoppenZone = {
  readonly zone: 'I-1' | 'I-2' | 'I-3' | 'I-4' | 'I-5';
  readonly borgLow: BorgRpe;
  readonly borgHigh: BorgRpe;
  readonly nb: string;
  readonly en: string;
  readonly breathingEn: string;
};

/**
 * Olympiatoppen intensity scale, 2020 revision, endurance zones I-1 to I-5 (olt-skala.nif.no;
 * docs/reference/fitness.md §7). The tool writes I-1 as Borg "< 11" and I-2 as "< 13"; read
 * together that makes I-1 6–10 and I-2 11–12 (interpretation). I-6 to I-8 are sprint/strength
 * zones that are not governed by heart rate and are left out. The scale's %HRmax bands are
 * UNCONFIRMED except I-3 (~82–87 %), so they are not carried here.
 */
export const OLYMPIATOPPEN_ZONES: readonly OlympiatoppenZone[] = [
  { zone: 'I-1', borgLow: 6, borgHigh: 10, nb: 'Veldig lett', en: 'Very light', breathingEn: 'can talk effortlessly' },
  {
    zone: 'I-2',
    borgLow: 11,
    borgHigh: 12,
    nb: 'Nokså lett',
    en: 'Fairly light',
    breathingEn: 'longer sentences, relatively effortless',
  },
  {
    zone: 'I-3',
    borgLow: 13,
    borgHigh: 14,
    nb: 'Behagelig anstrengende',
    en: 'Somewhat hard',
    breathingEn: 'short sentences',
  },
  {
    zone: 'I-4',
    borgLow: 15,
    borgHigh: 16,
    nb: 'Anstrengende',
    en: 'Hard',
    breathingEn: 'a few words / very short sentences',
  },
  {
    zone: 'I-5',
    borgLow: 17,
    borgHigh: 20,
    nb: 'Veldig anstrengende',
    en: 'Very hard',
    breathingEn: '1–2 words at a time, heavy breathing',
  },
];

export function olympiatoppenZoneForBorg(score: BorgRpe): OlympiatoppenZone | undefined {
  return OLYMPIATOPPEN_ZONES.find((z) => score >= z.borgLow && score <= z.borgHigh);
}
