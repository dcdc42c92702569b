/**
 * The EHR is a non-critical dependency: while it is down the API keeps accepting and the outbox
 * holds the work, so /readyz reports it as degraded rather than unready.
 */
import type { ReadinessCheck } from '../platform/readiness.ts';

export function ehrReadiness(baseUrl: string): ReadinessCheck {
  const metadata = new URL('metadata', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  return {
    name: 'ehr',
    critical: false,
    async check(signal) {
      const response = await fetch(metadata, { headers: { accept: 'application/fhir+json' }, signal });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`GET ${metadata.pathname} answered ${response.status}`);
    },
  };
}
