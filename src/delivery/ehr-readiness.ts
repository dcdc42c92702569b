/**
 * The EHR is a non-critical dependency: while it is down the API keeps accepting and the outbox
 * holds the work, so /readyz reports it as degraded rather than unready. The probe is the
 * adapter's own ping, so it carries the same authentication as the deliveries.
 */
import type { ReadinessCheck } from '../platform/readiness.ts';
import type { Ehr } from './ehr.ts';

export function ehrReadiness(ehr: Ehr): ReadinessCheck {
  return {
    name: 'ehr',
    critical: false,
    check: (signal) => ehr.ping(signal),
  };
}
