/**
 * The event log in PostgreSQL (the Kafka stand-in; see EventLog). Offsets: a row per topic in
 * topic_heads, bumped with an upsert that locks it until commit. Appenders of one topic take
 * turns, so offsets are gap-free and commit in offset order: a reader never sees offset n+1
 * before n. Several topics are locked in sorted order.
 */
import { fromDatesAndJson, logRecordOf, type LogRow } from '../rows.ts';
import { jsonText } from '../store-rules.ts';
import type { EventLog } from '../store.ts';
import type { PostgresDatabase } from './postgres-database.ts';

export function postgresEventLog(db: PostgresDatabase): EventLog {
  const T = db.tables;
  return {
    async append(records, now) {
      if (records.length === 0) return [];
      const counts = new Map<string, number>();
      for (const record of records) counts.set(record.topic, (counts.get(record.topic) ?? 0) + 1);
      const topics = [...counts.keys()].sort();
      return db.transaction(async (client) => {
        // Locks each topic's head (in sorted order: no deadlock between multi-topic batches) until commit.
        const heads = await client.query<{ topic: string; next_offset: string }>(
          `insert into ${T.topicHeads} as h (topic, next_offset)
           select u.topic, u.n from unnest($1::text[], $2::bigint[]) as u(topic, n) order by u.topic
           on conflict (topic) do update set next_offset = h.next_offset + excluded.next_offset
           returning topic, next_offset`,
          [topics, topics.map((topic) => counts.get(topic) ?? 0)],
        );
        const next = new Map(
          heads.rows.map((row) => [row.topic, Number(row.next_offset) - (counts.get(row.topic) ?? 0)]),
        );
        const offsets = records.map((record) => {
          const offset = next.get(record.topic) ?? 0;
          next.set(record.topic, offset + 1);
          return offset;
        });
        await client.query(
          `insert into ${T.eventLog} (topic, log_offset, record_key, record_value, headers, appended_at)
           select u.topic, u.log_offset, u.record_key, u.record_value, u.headers, $1
             from unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::jsonb[])
                  as u(topic, log_offset, record_key, record_value, headers)`,
          [
            now,
            records.map((record) => record.topic),
            offsets,
            records.map((record) => record.key),
            records.map((record) => record.value),
            records.map((record) => jsonText(record.headers)),
          ],
        );
        return offsets;
      });
    },

    async read(topic, fromOffset, limit) {
      const { rows } = await db.query<LogRow>(
        `select * from ${T.eventLog} where topic = $1 and log_offset >= $2 order by log_offset limit $3`,
        [topic, fromOffset, Math.max(0, limit)],
      );
      return rows.map((row) => logRecordOf(row, fromDatesAndJson));
    },

    async committedOffset(group, topic) {
      const { rows } = await db.query<{ next_offset: string }>(
        `select next_offset from ${T.consumerOffsets} where group_id = $1 and topic = $2`,
        [group, topic],
      );
      return Number(rows[0]?.next_offset ?? 0);
    },

    async commitOffset(group, topic, nextOffset) {
      await db.query(
        `insert into ${T.consumerOffsets} (group_id, topic, next_offset) values ($1, $2, $3)
         on conflict (group_id, topic) do update set next_offset = excluded.next_offset`,
        [group, topic, nextOffset],
      );
    },
  };
}
