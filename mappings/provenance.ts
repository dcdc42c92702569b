/**
 * The audit trail on the EHR side: every transaction Bundle hit-bridge writes carries one FHIR
 * Provenance naming what was written (target: every resource of the Bundle), when hit-bridge
 * recorded it (the submission's acceptance, so a redelivery carries the same time), who (agent:
 * hit-bridge as the assembling device, the clinic system that sent it as the author's system),
 * and why (activity: create; reason: treatment). Pure: the time is passed in.
 *
 * The Provenance is created only if none targets the Bundle's first resource already (a
 * conditional create chained on that resource's business identifier), so delivering the same
 * Bundle twice leaves one Provenance, as it leaves one of everything else.
 */
import type { Bundle, BundleEntry, Identifier, Provenance } from 'fhir/r4.js';
import { searchToken } from './common.ts';
import { CANONICAL_BASE } from './terminology.ts';

export interface ProvenanceFacts {
  /** When hit-bridge accepted the input (ISO 8601 instant). */
  readonly recorded: string;
  /** The clinic system that sent it (the input's `source`). */
  readonly source: string;
}

const PARTICIPANT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';

export function withProvenance(bundle: Bundle, facts: ProvenanceFacts): Bundle {
  const entries = bundle.entry ?? [];
  const targets = entries.flatMap((entry) => (entry.fullUrl === undefined ? [] : [{ reference: entry.fullUrl }]));
  const first = entries[0]?.resource as { resourceType: string; identifier?: Identifier[] } | undefined;
  const anchor = first?.identifier?.[0];
  if (first === undefined || anchor === undefined || targets.length === 0) return bundle;
  const provenance: Provenance = {
    resourceType: 'Provenance',
    target: targets,
    recorded: facts.recorded,
    activity: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'CREATE', display: 'create' }],
    },
    reason: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT', display: 'treatment' }],
      },
    ],
    agent: [
      {
        type: { coding: [{ system: PARTICIPANT_TYPE, code: 'assembler', display: 'Assembler' }] },
        who: {
          type: 'Device',
          identifier: { system: `${CANONICAL_BASE}/sid/device`, value: 'hit-bridge' },
          display: 'hit-bridge',
        },
      },
      {
        type: { coding: [{ system: PARTICIPANT_TYPE, code: 'author', display: 'Author' }] },
        who: {
          type: 'Device',
          identifier: { system: `${CANONICAL_BASE}/sid/source-system`, value: facts.source },
          display: `clinic system ${facts.source}`,
        },
      },
    ],
  };
  const entry: BundleEntry = {
    resource: provenance,
    request: {
      method: 'POST',
      url: 'Provenance',
      ifNoneExist: `Provenance?target:${first.resourceType}.identifier=${searchToken(anchor)}`,
    },
  };
  return { ...bundle, entry: [...entries, entry] };
}
