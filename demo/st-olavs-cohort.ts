/**
 * A synthetic cohort modelled on the St. Olavs HIT study (Flemmen 2014,
 * docs/reference/fitness.md §5): 24 patients in substance-use treatment, 17 men and 7 women,
 * 32 ± 8 years; 4x4 on the treadmill three times a week for 8 weeks; a maximal treadmill test at
 * the start and the end; discharge when the 8 weeks are over. VO2max at intake is low for the
 * age (the study's patients were 15–20 years "older" in fitness) and rises by about 15 ± 7 %.
 *
 * Modelled, not copied: the study published group figures only, so every person here is
 * invented. National ids are synthetic (month + 80, valid check digits), names fictional, phones
 * in +47 400 00 1xx/2xx, e-mail at example.no. Pure and deterministic: the same seeds give the same
 * cohort.
 */
import { nationalIdCheckDigits } from '../src/domain/national-id.ts';
import { stayInputs, type StayInputs, type StayShape } from '../test/support/handover-cohort.ts';
import { seededRandom } from '../test/support/seeded-random.ts';

export { seededRandom };

export interface DemoPatient {
  /** P01…P24: names the patient's inputs (RX-P01, D-P01, …). */
  readonly label: string;
  readonly sex: 'male' | 'female';
  readonly ageAtStart: number;
  readonly inputs: StayInputs;
}

/** Ages at intake (shuffled by the order of intake): mean 32.0, SD 7.8 — the study's 32 ± 8. */
const AGES = [29, 19, 36, 42, 24, 33, 20, 38, 27, 45, 31, 22, 40, 34, 25, 47, 30, 23, 37, 35, 26, 39, 32, 34];
/** Which of the 24 are women (7, as in the study). */
const WOMEN = new Set([2, 5, 9, 13, 16, 19, 22]);
const MEN_NAMES = ['Ola', 'Per', 'Knut', 'Jon', 'Lars', 'Nils', 'Arne', 'Even', 'Odd', 'Tor', 'Geir', 'Rune', 'Stig'];
const MEN_NAMES_MORE = ['Atle', 'Bjørn', 'Eirik', 'Finn'];
const WOMEN_NAMES = ['Kari', 'Anne', 'Liv', 'Siri', 'Tone', 'Hege', 'Randi'];
/** The municipalities of the synthetic recipient directory (config/recipient-directory.yaml). */
const MUNICIPALITIES = ['9901', '9902', '9903'] as const;
/** Mondays, three patients starting on each: 8 intakes from early May. */
const FIRST_START = '2026-05-04';
const SESSIONS_PER_WEEK = 3;
const WEEKS = 8;
/** Probability that a prescribed session took place (the study: 9 of 12 completed; most sessions were held). */
const ATTENDANCE = 0.9;

const SUMMARY =
  'Innlagt for behandling av rusavhengighet. Har trent 4x4 på tredemølle tre ganger i uka i åtte ' +
  'uker som del av behandlingen.\n\nØnsker å fortsette med intervalltrening etter utskrivning.';

/** A normal deviate (Box–Muller) from the seeded generator. */
function normal(random: () => number, mean: number, sd: number): number {
  const u = Math.max(random(), 1e-9);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const DAY_MS = 86_400_000;
function addDays(isoDate: string, days: number): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A synthetic national id for a birth date and sex: day, month + 80, two-digit year, an
 * individual number in the range of the birth century (1900–1999: 000–499; 2000–2039:
 * 500–999) whose last digit is odd for a man and even for a woman, and the two check digits.
 */
export function syntheticNationalId(birthDate: string, sex: 'male' | 'female', random: () => number): string {
  const [year = '', month = '', day = ''] = birthDate.split('-');
  const fullYear = Number(year);
  const low = fullYear >= 2000 ? 500 : 0;
  for (;;) {
    let individual = low + Math.floor(random() * 500);
    if ((individual % 2 === 1) !== (sex === 'male')) individual += individual % 10 === 9 ? -1 : 1;
    const nine = `${day}${String(Number(month) + 80)}${year.slice(2)}${String(individual).padStart(3, '0')}`;
    const check = nationalIdCheckDigits(nine);
    if (check !== undefined) return `${nine}${check}`;
  }
}

/**
 * The demo cohort: 24 stays under one source. `seed` shapes the cohort (ages, fitness,
 * attendance); `identitySeed` picks the national ids, so each run can have patients of its own.
 */
export function stOlavsCohort(
  source: string,
  seeds: { readonly seed: number; readonly identitySeed: number },
): DemoPatient[] {
  const random = seededRandom(seeds.seed);
  const identities = seededRandom(seeds.identitySeed);
  let men = 0;
  let women = 0;
  return AGES.map((age, i) => {
    const sex = WOMEN.has(i) ? 'female' : 'male';
    const givenName =
      sex === 'female' ? (WOMEN_NAMES[women++] ?? 'Kari') : ([...MEN_NAMES, ...MEN_NAMES_MORE][men++] ?? 'Ola');
    const label = `P${String(i + 1).padStart(2, '0')}`;
    const start = addDays(FIRST_START, 7 * Math.floor(i / 3));
    // Born some day of the year before they turned `age` at the start.
    const birthDate = addDays(start, -Math.round((age + random()) * 365.25));
    const nationalId = syntheticNationalId(birthDate, sex, identities);
    // Measured at the first test: around the HUNT estimate 211 − 0.64 × age.
    const hrMaxBpm = Math.round(211 - 0.64 * age + normal(random, 0, 5));
    const baseline = Math.max(24, normal(random, sex === 'male' ? 41 : 33, sex === 'male' ? 5 : 4));
    const gain = Math.max(0.02, normal(random, 0.15, 0.07));
    const round1 = (value: number) => Math.round(value * 10) / 10;
    const missed = Array.from({ length: SESSIONS_PER_WEEK * WEEKS }, (_, n) => n).filter(() => random() > ATTENDANCE);
    const shape: StayShape = {
      nationalId,
      start,
      weeks: WEEKS,
      hrMaxBpm,
      interval: { perWeek: SESSIONS_PER_WEEK, modality: 'treadmill' },
      days: [0, 2, 4],
      missed,
      tests: [
        { day: 0, vo2max: round1(baseline) },
        { day: 7 * (WEEKS - 1) + 4, vo2max: round1(baseline * (1 + gain)) },
      ],
    };
    const n = String(100 + i + 1);
    const hasTrainingContact = i % 3 !== 2;
    const inputs = stayInputs({
      shape,
      source,
      label,
      givenName,
      contact: { phone: `+47 400 00 ${n}`, email: `pasient${label.toLowerCase()}@example.no` },
      municipality: MUNICIPALITIES[i % MUNICIPALITIES.length] ?? '9901',
      trainingContact: hasTrainingContact
        ? { name: 'Per Turvenn', phone: `+47 400 00 ${String(200 + i + 1)}`, email: `turvenn${n}@example.no` }
        : undefined,
      // One patient says no to the Frisklivssentral, and every seventh to the training contact.
      consent: { frisklivssentral: i !== 10, trainingContact: i % 7 !== 3 },
      summary: SUMMARY,
    });
    return { label, sex, ageAtStart: age, inputs };
  });
}
