// Valid inputs of every kind, built here so the intake tests do not depend on the golden
// fixtures (which the mapping tests own). National ids are synthetic (month + 80) or a D-number
// on a synthetic month, with check digits from the independent test implementation.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FitnessTestInput, HitSessionInput, PrescriptionInput } from '../../../mappings/inputs.ts';
import { firstNine, withCheckDigits } from '../domain/synthetic-national-ids.ts';
import { type Inputs, RECORD_KINDS, type RecordKind } from '../../../src/kinds/kinds.ts';

/** Synthetic test id: born 15 March 1990, male (odd individual number), classic check digits. */
export const NATIONAL_ID = withCheckDigits(firstNine({ day: 15, month: 83, year: 1990, individual: 123 }), 0);
/** Synthetic D-nummer: born 4 November 1975. */
export const D_NUMBER = withCheckDigits(firstNine({ day: 44, month: 91, year: 1975, individual: 246 }));
/** Synthetic id of someone born on 1 June 2026. */
export const BORN_JUNE_2026 = withCheckDigits(firstNine({ day: 1, month: 86, year: 2026, individual: 512 }));

/** The same id with its last check digit changed. */
export function withWrongCheckDigit(id: string): string {
  const last = Number(id.charAt(10));
  return id.slice(0, 10) + String((last + 1) % 10);
}

export const HIT_SESSION = {
  sessionId: 'S-2026-0042',
  source: 'clinic-a',
  patient: { nationalId: NATIONAL_ID },
  performer: { hprNumber: '9144901' },
  startedAt: '2026-03-02T10:00:00+01:00',
  endedAt: '2026-03-02T10:45:00+01:00',
  modality: 'treadmill',
  protocol: '4x4',
  hrMax: { bpm: 190, method: 'measured' },
  warmUpMinutes: 10,
  intervals: [1, 2, 3, 4].map(() => ({
    durationSeconds: 240,
    meanHr: 166,
    peakHr: 174,
    speedKmh: 5.5,
    inclinePercent: 8,
  })),
  activePauses: [1, 2, 3].map(() => ({ durationSeconds: 180, meanHr: 132 })),
  coolDownMinutes: 5,
  borgRpe: 17,
  prescriptionId: 'RX-2026-007',
  note: 'Gikk bra.',
} as const satisfies HitSessionInput;

export const STRENGTH_SESSION = {
  sessionId: 'S-2026-0043',
  source: 'clinic-a',
  patient: { nationalId: D_NUMBER },
  performer: { hprNumber: '9144901' },
  startedAt: '2026-03-04T10:00:00Z',
  endedAt: '2026-03-04T10:50:00Z',
  modality: 'strength',
  protocol: '4x4',
  strengthSets: [
    { exercise: 'leg press', sets: 4, reps: 4, loadKg: 120, oneRepMaxKg: 140 },
    { exercise: 'knebøy', sets: 4, reps: 4, loadKg: 60 },
  ],
} as const satisfies HitSessionInput;

export const FITNESS_TEST = {
  testId: 'FT-2026-0311',
  source: 'clinic-a',
  patient: { nationalId: NATIONAL_ID },
  performer: { hprNumber: '9144901' },
  performedAt: '2026-03-12T09:30:00+01:00',
  kind: 'treadmill-submax',
  submax: { durationMinutes: 4, speedKmh: 5, inclinePercent: 5, steadyStateHr: 132 },
} as const satisfies FitnessTestInput;

export const PRESCRIPTION = {
  prescriptionId: 'RX-2026-007',
  source: 'clinic-a',
  patient: { nationalId: NATIONAL_ID },
  prescriber: { hprNumber: '9144901' },
  issuedAt: '2026-03-01T12:00:00+01:00',
  start: '2026-03-02',
  weeks: 8,
  components: [
    { kind: 'interval', protocol: '4x4', sessionsPerWeek: 3, modality: 'treadmill', inclinePercentMin: 5 },
    {
      kind: 'strength',
      sessionsPerWeek: 2,
      sets: 4,
      reps: 4,
      intensityPercent1RM: [85, 90],
      exercises: ['leg press', 'squat'],
    },
  ],
  goals: [
    { description: 'Bedre kondisjon', measure: 'vo2max', target: 45 },
    { description: 'Trene tre ganger i uka', measure: 'attendance', target: 3 },
  ],
} as const satisfies PrescriptionInput;

export const EXAMPLES: { readonly [K in RecordKind]: Inputs[K] } = {
  'hit-sessions': HIT_SESSION,
  'fitness-tests': FITNESS_TEST,
  prescriptions: PRESCRIPTION,
};

/** A deep copy, with changes at JSON pointers (undefined removes the field). */
export function variant(base: object, changes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy = structuredClone(base) as Record<string, unknown>;
  for (const [pointer, value] of Object.entries(changes)) {
    const path = pointer.split('/').slice(1);
    const last = path.pop();
    if (last === undefined) throw new Error('variant: empty pointer');
    let node: Record<string, unknown> = copy;
    for (const segment of path) node = node[segment] as Record<string, unknown>;
    if (value === undefined) {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else Reflect.deleteProperty(node, last);
    } else node[last] = value;
  }
  return copy;
}

/** The golden fixture inputs of the mapping tests, as [kind, file name, path] (none while they are being written). */
export function fixtureInputs(): (readonly [RecordKind, string, string])[] {
  return RECORD_KINDS.flatMap((kind) => {
    const dir = join('test', 'fixtures', 'mappings', kind);
    const files = ((): string[] => {
      try {
        return readdirSync(dir).filter((file) => file.endsWith('.input.json'));
      } catch {
        return [];
      }
    })();
    return files.map((file) => [kind, file, join(dir, file)] as const);
  });
}
