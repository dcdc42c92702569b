import { eventLine } from '../../../src/cli/event-line.ts';

const base = { topic: 'hit-bridge.records.v1', partition: 1, offset: '5', key: 'k', headers: {} };

describe('tail: one readable line per event', () => {
  it('names the type, the input and where the record is in the EHR', () => {
    const line = eventLine({
      ...base,
      value: {
        time: '2026-03-02T10:00:00.000Z',
        type: 'no.hitbridge.prescription.issued.v1',
        subject: 'sub-1',
        data: {
          source: 'stolav-hit-app',
          inputId: 'RX-2026-0001',
          ehr: { references: ['ServiceRequest/1', 'CarePlan/2', 'Goal/3', 'Goal/4'] },
        },
      },
    });
    expect(line).toBe(
      '2026-03-02T10:00:00.000Z  prescription.issued  stolav-hit-app/RX-2026-0001  → ServiceRequest/1, CarePlan/2 (+2)  [hit-bridge.records.v1 1@5]',
    );
  });

  it("shows a failure's HTTP status, attempts, the EHR's words and the submission id to replay", () => {
    const line = eventLine({
      ...base,
      topic: 'hit-bridge.delivery-failures.v1',
      value: {
        time: '2026-03-02T10:00:00.000Z',
        type: 'no.hitbridge.delivery.failed.v1',
        subject: 'b7c1e1f0-0000-4000-8000-000000000001',
        data: { source: 'a', inputId: 'S-1', httpStatus: 404, attempts: 1, reason: 'No resources match this search' },
      },
    });
    expect(line).toContain(
      'delivery.failed  a/S-1  ✗ HTTP 404 after 1 attempt(s): No resources match this search (submission b7c1e1f0-0000-4000-8000-000000000001)',
    );
  });

  it('does not break on an event of a shape it does not know', () => {
    expect(eventLine({ ...base, value: {} })).toBe('?  ?  ?/?  submission ?  [hit-bridge.records.v1 1@5]');
  });
});
