import { Migration } from '@mikro-orm/migrations';

export class Migration20261125183950_realtime_event_log extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "event_streams" ("stream" text not null, "last_seq" bigint not null default 0, "pruned_through" bigint not null default 0, constraint "event_streams_pkey" primary key ("stream"));`,
    );

    this.addSql(
      `create table "events" ("stream" text not null, "seq" bigint not null, "type" text not null, "entity_id" text null, "payload" jsonb not null, "correlation_id" text null, "created_at" timestamptz not null default now(), constraint "events_pkey" primary key ("stream", "seq"));`,
    );
    this.addSql(
      `create index "events_stream_entity_id_seq_index" on "events" ("stream", "entity_id", "seq");`,
    );
    this.addSql(`create index "events_created_at_index" on "events" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "event_streams" cascade;`);

    this.addSql(`drop table if exists "events" cascade;`);
  }
}
