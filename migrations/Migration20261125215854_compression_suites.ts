import { Migration } from '@mikro-orm/migrations';

export class Migration20261125215854_compression_suites extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "compression_suite_status" as enum ('RUNNING', 'COMPLETE');`);
    this.addSql(
      `create table "compression_suites" ("id" uuid not null, "status" "compression_suite_status" not null default 'RUNNING', "input_kind" "compression_input_kind" not null, "corpus_kind" "corpus_kind" null, "corpus_seed" int null, "input_bytes" bigint not null, "keep_input" boolean not null default false, "input" bytea null, "requested_by_id" uuid not null, "finished_at" timestamptz null, "created_at" timestamptz not null, constraint "compression_suites_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "compression_suites_requested_by_id_status_index" on "compression_suites" ("requested_by_id", "status");`,
    );

    this.addSql(
      `alter table "compression_suites" add constraint "compression_suites_requested_by_id_foreign" foreign key ("requested_by_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(`alter table "compression_runs" add column "suite_id" uuid null;`);
    this.addSql(
      `alter table "compression_runs" add constraint "compression_runs_suite_id_foreign" foreign key ("suite_id") references "compression_suites" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`create index "compression_runs_suite_id_index" on "compression_runs" ("suite_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "compression_runs" drop constraint "compression_runs_suite_id_foreign";`);

    this.addSql(`drop table if exists "compression_suites" cascade;`);

    this.addSql(`drop index "compression_runs_suite_id_index";`);
    this.addSql(`alter table "compression_runs" drop column "suite_id";`);

    this.addSql(`drop type "compression_suite_status";`);
  }
}
