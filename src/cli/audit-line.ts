/** One audit entry as one JSON line, fields in a fixed order, for an operator's grep and jq. */
import type { StoredAuditEntry } from '../store/store.ts';

export function auditLine(entry: StoredAuditEntry): string {
  return JSON.stringify({
    seq: entry.seq,
    at: entry.at.toISOString(),
    clientId: entry.clientId,
    method: entry.method,
    route: entry.route,
    status: entry.status,
    submissionId: entry.submissionId ?? null,
    requestId: entry.requestId,
  });
}
