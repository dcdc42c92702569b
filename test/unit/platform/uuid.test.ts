import { timeOrderedUuid, uuidText } from '../../../src/platform/uuid.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('time-ordered ids (UUID version 7, RFC 9562 §5.7)', () => {
  const at = new Date('2026-12-06T09:30:00.123Z');

  it('is a UUID of version 7 and the RFC variant', () => {
    const id = timeOrderedUuid(at);
    expect(id).toMatch(UUID);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
  });

  it('carries the Unix time in milliseconds in its first 48 bits', () => {
    const id = timeOrderedUuid(at);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at.getTime());
  });

  it('sorts, as text, in the order of the times it was made at', () => {
    const times = [0, 1, 255, 256, 65_536, 1_000_000].map((offset) => new Date(at.getTime() + offset));
    const ids = times.map((time) => timeOrderedUuid(time));
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs between ids made in the same millisecond', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => timeOrderedUuid(at)));
    expect(ids.size).toBe(10_000);
  });

  it('writes sixteen bytes as the 8-4-4-4-12 text, from wherever they sit in their buffer', () => {
    const buffer = Buffer.alloc(20);
    Buffer.from('00112233445566778899aabbccddeeff', 'hex').copy(buffer, 4);
    expect(uuidText(buffer.subarray(4, 20))).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });
});
