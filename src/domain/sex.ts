// Administrative sex as the sex-specific formulas (HUNT3 norms, Ebbeling) and the national id's
// 9th digit use it: two values only, because every source formula has exactly two.
export type Sex = 'male' | 'female';
