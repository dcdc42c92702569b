/** The event log in SQLite (the Kafka stand-in): gap-free offsets per topic, consumer offsets (see EventLog). */
import { fromMillisAndText, logRecordOf, type LogRow } from '../rows.ts';
import { jsonText } from '../store-rules.ts';
import type { EventLog } from '../store.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

export function sqliteEventLog(db: SqliteDatabase): EventLog {
  return {
    append(records, now) {
      return db.settle(() =>
        db.transaction(() =>
          records.map((record) => {
            const head = db.get<{ next_offset: number }>(
              `insert into topic_heads (topic, next_offset) values (?, 1)
                 on conflict (topic) do update set next_offset = topic_heads.next_offset + 1
                 returning next_offset`,
              record.topic,
            );
            const offset = (head?.next_offset ?? 0) - 1;
            db.run(
              `insert into event_log (topic, log_offset, record_key, record_value, headers, appended_at)
                 values (?, ?, ?, ?, ?, ?)`,
              record.topic,
              offset,
              record.key,
              record.value,
              jsonText(record.headers),
              now.getTime(),
            );
            return offset;
          }),
        ),
      );
    },

    read(topic, fromOffset, limit) {
      return db.settle(() =>
        db
          .all<LogRow>(
            'select * from event_log where topic = ? and log_offset >= ? order by log_offset limit ?',
            topic,
            fromOffset,
            Math.max(0, limit),
          )
          .map((row) => logRecordOf(row, fromMillisAndText)),
      );
    },

    committedOffset(group, topic) {
      return db.settle(
        () =>
          db.get<{ next_offset: number }>(
            'select next_offset from consumer_offsets where group_id = ? and topic = ?',
            group,
            topic,
          )?.next_offset ?? 0,
      );
    },

    commitOffset(group, topic, nextOffset) {
      return db.settle(() => {
        db.transaction(() =>
          db.run(
            `insert into consumer_offsets (group_id, topic, next_offset) values (?, ?, ?)
               on conflict (group_id, topic) do update set next_offset = excluded.next_offset`,
            group,
            topic,
            nextOffset,
          ),
        );
      });
    },
  };
}
