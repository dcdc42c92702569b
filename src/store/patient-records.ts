/**
 * One patient's records, as the handover reads them when the EHR does not hold them
 * (docs/adr/0028-handover-facts-from-the-store-under-dips-arena.md): the SQL written once for
 * both dialects, as the message browser's is (submission-query.ts). By the pseudonymous patient
 * key, which the submissions table keeps for every record; migration 5 indexes it.
 */
import type { SubmissionKind } from '../kinds/kinds.ts';
import type { Sql, SqlDialect } from './submission-query.ts';

/** The patient's submissions of these kinds accepted at or after `since`, oldest first (accepted_at, then id). */
export function patientSubmissionsSql(
  patientKey: string,
  kinds: readonly SubmissionKind[],
  since: Date,
  d: SqlDialect,
  submissions: string,
): Sql {
  const params: unknown[] = [patientKey, d.time(since)];
  const kindList = kinds.map((kind) => {
    params.push(kind);
    return d.placeholder(params.length);
  });
  return {
    text: `select * from ${submissions}
            where patient_key = ${d.placeholder(1)} and accepted_at >= ${d.placeholder(2)}
              and kind in (${kindList.length === 0 ? 'null' : kindList.join(', ')})
            order by accepted_at, id`,
    params,
  };
}
