import { Migration } from '@mikro-orm/migrations';

export class Migration20261125214401_compression_runs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "compression_algorithm" as enum ('GZIP', 'DEFLATE', 'BROTLI', 'ZSTD');`);
    this.addSql(
      `create type "compression_run_status" as enum ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');`,
    );
    this.addSql(`create type "compression_input_kind" as enum ('TEXT', 'BASE64', 'CORPUS');`);
    this.addSql(`create type "corpus_kind" as enum ('TEXT', 'JSON', 'LOGS', 'RANDOM');`);
    this.addSql(
      `create table "compression_runs" ("id" uuid not null, "algorithm" "compression_algorithm" not null, "level" int not null, "status" "compression_run_status" not null default 'QUEUED', "input_kind" "compression_input_kind" not null, "corpus_kind" "corpus_kind" null, "corpus_seed" int null, "input_bytes" bigint not null, "input_checksum" text null, "keep_input" boolean not null default false, "cancel_requested" boolean not null default false, "input" bytea null, "output_bytes" bigint null, "ratio" double precision null, "compress_ms" double precision null, "decompress_ms" double precision null, "compress_mbps" double precision null, "decompress_mbps" double precision null, "round_trip_ok" boolean null, "error" text null, "requested_by_id" uuid not null, "agent_id" uuid null, "started_at" timestamptz null, "finished_at" timestamptz null, "created_at" timestamptz not null, constraint "compression_runs_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "compression_runs_requested_by_id_status_index" on "compression_runs" ("requested_by_id", "status");`,
    );
    this.addSql(
      `create index "compression_runs_created_at_id_index" on "compression_runs" ("created_at", "id");`,
    );

    this.addSql(
      `alter table "compression_runs" add constraint "compression_runs_requested_by_id_foreign" foreign key ("requested_by_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "compression_runs" add constraint "compression_runs_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete restrict;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "compression_runs" cascade;`);

    this.addSql(`drop type "compression_algorithm";`);
    this.addSql(`drop type "compression_run_status";`);
    this.addSql(`drop type "compression_input_kind";`);
    this.addSql(`drop type "corpus_kind";`);
  }
}
