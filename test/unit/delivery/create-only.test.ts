// Create-only delivery (the dips-arena profile) against an EHR in memory: a record is created
// once whatever the number of deliveries, and never by PUT, PATCH or a conditional create.
import { DEFAULT_MAPPING_OPTIONS } from '../../../mappings/common.ts';
import { mappers } from '../../../mappings/registry.ts';
import { createOnlyOnce } from '../../../src/delivery/create-only.ts';
import { createFakeEhr, TRANSIENT } from '../../support/fake-ehr.ts';
import { fixtureCases, readInput, withEpisode, type FixtureCase } from '../../support/fixtures.ts';

const session = fixtureCases(['hit-sessions'])[0] as FixtureCase<'hit-sessions'>;
const shaped = () =>
  mappers['hit-sessions'](withEpisode(readInput(session)), { ...DEFAULT_MAPPING_OPTIONS, ehrProfile: 'dips-arena' });

describe('createOnlyOnce', () => {
  it('creates on the first delivery and finds, not creates, on the second', async () => {
    const ehr = createFakeEhr();
    const first = await createOnlyOnce(ehr, shaped());
    const second = await createOnlyOnce(ehr, shaped());
    expect(first.ok && first.result.entries.map((e) => e.status)).toEqual(['201 Created']);
    expect(second.ok && second.result.entries.map((e) => e.status)).toEqual(['200 OK']);
    expect(first.ok && second.ok && second.result.entries[0]?.location).toBe(
      first.ok ? first.result.entries[0]?.location : 'none',
    );
    expect(ehr.resources.filter((r) => r.resourceType === 'Procedure')).toHaveLength(1);
    expect(ehr.calls.filter((call) => call.method === 'create')).toHaveLength(1);
    expect(ehr.calls.some((call) => call.method === 'transaction')).toBe(false);
    for (const call of ehr.calls) if (call.method === 'create') expect(call.ifNoneExist).toBeUndefined();
  });

  it('creates nothing when the search fails, and hands the failure on', async () => {
    const ehr = createFakeEhr();
    ehr.failNext('search', TRANSIENT);
    const outcome = await createOnlyOnce(ehr, shaped());
    expect(outcome.ok).toBe(false);
    expect(ehr.calls.filter((call) => call.method === 'create')).toHaveLength(0);
  });

  it('sends nothing for a Bundle with no entry (what DIPS takes nothing of)', async () => {
    const ehr = createFakeEhr();
    const outcome = await createOnlyOnce(ehr, { resourceType: 'Bundle', type: 'transaction', entry: [] });
    expect(outcome.ok && outcome.result.entries).toEqual([]);
    expect(ehr.calls).toEqual([]);
  });
});
