import { Migration } from '@mikro-orm/migrations';

export class Migration20261125194047_jobs_and_conversations extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create type "job_status" as enum ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');`,
    );
    this.addSql(`create type "message_role" as enum ('USER', 'ASSISTANT', 'SYSTEM');`);
    this.addSql(`create type "message_status" as enum ('COMPLETE', 'STOPPED', 'FAILED');`);
    this.addSql(
      `create table "jobs" ("id" uuid not null, "kind" text not null, "key" text not null, "payload" jsonb not null, "status" "job_status" not null default 'QUEUED', "attempts" int not null default 0, "max_attempts" int not null default 5, "run_after" timestamptz not null, "lease_owner" text null, "lease_expires_at" timestamptz null, "last_error" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "jobs_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "jobs" add constraint "jobs_key_unique" unique ("key");`);
    this.addSql(
      `create index "jobs_status_lease_expires_at_index" on "jobs" ("status", "lease_expires_at");`,
    );
    this.addSql(`create index "jobs_status_run_after_index" on "jobs" ("status", "run_after");`);

    this.addSql(
      `create table "conversations" ("id" uuid not null, "title" text not null, "owner_id" uuid not null, "agent_id" uuid not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "conversations_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "conversations_owner_id_updated_at_index" on "conversations" ("owner_id", "updated_at");`,
    );

    this.addSql(
      `create table "messages" ("id" uuid not null, "conversation_id" uuid not null, "position" int not null, "role" "message_role" not null, "content" text not null, "status" "message_status" not null default 'COMPLETE', "reply_to" uuid null, "version" int not null default 1, "prompt_tokens" int not null default 0, "completion_tokens" int not null default 0, "latency_ms" int null, "error" text null, "created_at" timestamptz not null, constraint "messages_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "messages_conversation_id_position_index" on "messages" ("conversation_id", "position");`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_reply_to_version_unique" unique ("reply_to", "version");`,
    );

    this.addSql(
      `alter table "conversations" add constraint "conversations_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete restrict;`,
    );

    this.addSql(
      `alter table "messages" add constraint "messages_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "messages" drop constraint "messages_conversation_id_foreign";`);

    this.addSql(`drop table if exists "jobs" cascade;`);

    this.addSql(`drop table if exists "conversations" cascade;`);

    this.addSql(`drop table if exists "messages" cascade;`);

    this.addSql(`drop type "job_status";`);
    this.addSql(`drop type "message_role";`);
    this.addSql(`drop type "message_status";`);
  }
}
