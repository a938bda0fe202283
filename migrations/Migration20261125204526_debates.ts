import { Migration } from '@mikro-orm/migrations';

export class Migration20261125204526_debates extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create type "debate_status" as enum ('PENDING', 'RUNNING', 'PAUSED', 'CONCLUDED', 'CANCELLED', 'FAILED');`,
    );
    this.addSql(`create type "debate_pause_kind" as enum ('MANUAL', 'DEPENDENCY');`);
    this.addSql(
      `create type "debate_conclusion_reason" as enum ('CONSENSUS', 'MODERATOR', 'MAX_ROUNDS', 'TOKEN_BUDGET');`,
    );
    this.addSql(
      `create table "debates" ("id" uuid not null, "topic" text not null, "status" "debate_status" not null default 'PENDING', "created_by_id" uuid not null, "moderator_id" uuid null, "max_rounds" int not null, "consensus_threshold" double precision not null, "token_budget" int null, "current_round" int not null default 0, "epoch" int not null default 0, "next_step" jsonb null, "pause_kind" "debate_pause_kind" null, "status_reason" text null, "conclusion_reason" "debate_conclusion_reason" null, "summary" text null, "verdict" text null, "consensus" double precision null, "tokens_used" bigint not null default 0, "turn_count" int not null default 0, "invalid_turn_count" int not null default 0, "started_at" timestamptz null, "ended_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "debates_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "debates_status_created_at_index" on "debates" ("status", "created_at");`);
    this.addSql(`create index "debates_created_at_id_index" on "debates" ("created_at", "id");`);

    this.addSql(
      `create table "debate_turns" ("id" uuid not null, "debate_id" uuid not null, "round" int not null, "seat" int not null, "agent_id" uuid not null, "content" text not null, "position" text null, "confidence" double precision null, "valid" boolean not null, "repaired" boolean not null, "problem" text null, "prompt_tokens" int not null, "completion_tokens" int not null, "latency_ms" int not null, "created_at" timestamptz not null, constraint "debate_turns_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "debate_turns_agent_id_index" on "debate_turns" ("agent_id");`);
    this.addSql(
      `alter table "debate_turns" add constraint "debate_turns_debate_id_round_seat_unique" unique ("debate_id", "round", "seat");`,
    );

    this.addSql(
      `create table "debate_rounds" ("id" uuid not null, "debate_id" uuid not null, "number" int not null, "consensus" double precision not null, "leading_position" text null, "position_changes" int not null, "turns" int not null, "tokens" int not null, "moderator_note" text null, "completed_at" timestamptz not null, constraint "debate_rounds_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "debate_rounds" add constraint "debate_rounds_debate_id_number_unique" unique ("debate_id", "number");`,
    );

    this.addSql(
      `create table "debate_participants" ("id" uuid not null, "debate_id" uuid not null, "seat" int not null, "agent_id" uuid not null, "stance" text null, "final_position" text null, "final_confidence" double precision null, constraint "debate_participants_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "debate_participants_agent_id_index" on "debate_participants" ("agent_id");`);
    this.addSql(
      `alter table "debate_participants" add constraint "debate_participants_debate_id_seat_unique" unique ("debate_id", "seat");`,
    );

    this.addSql(
      `create table "debate_interjections" ("id" uuid not null, "debate_id" uuid not null, "author_id" uuid not null, "content" text not null, "after_round" int not null, "created_at" timestamptz not null, constraint "debate_interjections_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "debate_interjections_debate_id_created_at_index" on "debate_interjections" ("debate_id", "created_at");`,
    );

    this.addSql(
      `alter table "debates" add constraint "debates_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "debates" add constraint "debates_moderator_id_foreign" foreign key ("moderator_id") references "agents" ("id") on update cascade on delete restrict;`,
    );

    this.addSql(
      `alter table "debate_turns" add constraint "debate_turns_debate_id_foreign" foreign key ("debate_id") references "debates" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "debate_turns" add constraint "debate_turns_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete restrict;`,
    );

    this.addSql(
      `alter table "debate_rounds" add constraint "debate_rounds_debate_id_foreign" foreign key ("debate_id") references "debates" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "debate_participants" add constraint "debate_participants_debate_id_foreign" foreign key ("debate_id") references "debates" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "debate_participants" add constraint "debate_participants_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete restrict;`,
    );

    this.addSql(
      `alter table "debate_interjections" add constraint "debate_interjections_debate_id_foreign" foreign key ("debate_id") references "debates" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "debate_interjections" add constraint "debate_interjections_author_id_foreign" foreign key ("author_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "debate_turns" drop constraint "debate_turns_debate_id_foreign";`);

    this.addSql(`alter table "debate_rounds" drop constraint "debate_rounds_debate_id_foreign";`);

    this.addSql(`alter table "debate_participants" drop constraint "debate_participants_debate_id_foreign";`);

    this.addSql(
      `alter table "debate_interjections" drop constraint "debate_interjections_debate_id_foreign";`,
    );

    this.addSql(`drop table if exists "debates" cascade;`);

    this.addSql(`drop table if exists "debate_turns" cascade;`);

    this.addSql(`drop table if exists "debate_rounds" cascade;`);

    this.addSql(`drop table if exists "debate_participants" cascade;`);

    this.addSql(`drop table if exists "debate_interjections" cascade;`);

    this.addSql(`drop type "debate_status";`);
    this.addSql(`drop type "debate_pause_kind";`);
    this.addSql(`drop type "debate_conclusion_reason";`);
  }
}
