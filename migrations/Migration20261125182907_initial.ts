import { Migration } from '@mikro-orm/migrations';

export class Migration20261125182907_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "audit_outcome" as enum ('SUCCESS', 'DENIED', 'FAILED');`);
    this.addSql(`create type "user_role" as enum ('VIEWER', 'ANALYST', 'OPERATOR', 'ADMIN');`);
    this.addSql(`create type "agent_status" as enum ('ACTIVE', 'DISABLED');`);
    this.addSql(
      `create table "audit_events" ("id" bigserial primary key, "occurred_at" timestamptz not null, "actor_id" uuid null, "actor_role" text null, "action" text not null, "resource_type" text null, "resource_id" text null, "outcome" "audit_outcome" not null, "correlation_id" text null, "details" jsonb not null);`,
    );
    this.addSql(
      `create index "audit_events_actor_id_occurred_at_index" on "audit_events" ("actor_id", "occurred_at");`,
    );
    this.addSql(`create index "audit_events_occurred_at_index" on "audit_events" ("occurred_at");`);

    this.addSql(
      `create table "users" ("id" uuid not null, "email" text not null, "password_hash" text not null, "role" "user_role" not null default 'VIEWER', "created_at" timestamptz not null, "updated_at" timestamptz not null, "last_login_at" timestamptz null, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(
      `create table "refresh_tokens" ("id" uuid not null, "user_id" uuid not null, "family_id" uuid not null, "token_hash" text not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null, constraint "refresh_tokens_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "refresh_tokens_user_id_index" on "refresh_tokens" ("user_id");`);
    this.addSql(
      `alter table "refresh_tokens" add constraint "refresh_tokens_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "refresh_tokens_family_id_index" on "refresh_tokens" ("family_id");`);

    this.addSql(
      `create table "agents" ("id" uuid not null, "name" text not null, "description" text not null default '', "model" text not null, "system_prompt" text not null default '', "temperature" double precision not null default 0.7, "options" jsonb not null, "supported_algorithms" text[] not null default '{}', "status" "agent_status" not null default 'ACTIVE', "owner_id" uuid not null, "stats_turns" int not null default 0, "stats_prompt_tokens" bigint not null default 0, "stats_completion_tokens" bigint not null default 0, "stats_latency_p50ms" double precision null, "stats_latency_p95ms" double precision null, "stats_latency_p99ms" double precision null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "agents_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "agents_model_index" on "agents" ("model");`);
    this.addSql(`create index "agents_owner_id_index" on "agents" ("owner_id");`);
    this.addSql(`create index "agents_name_id_index" on "agents" ("name", "id");`);
    this.addSql(`create index "agents_created_at_id_index" on "agents" ("created_at", "id");`);
    this.addSql(
      `alter table "agents" add constraint "agents_owner_id_name_unique" unique ("owner_id", "name");`,
    );

    this.addSql(
      `alter table "refresh_tokens" add constraint "refresh_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "agents" add constraint "agents_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }
}
