import { Migration } from '@mikro-orm/migrations';

export class Migration20261125212917_agent_work extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "agent_work" ("id" bigserial primary key, "agent_id" uuid not null, "prompt_tokens" int not null, "completion_tokens" int not null);`,
    );
    this.addSql(`create index "agent_work_agent_id_index" on "agent_work" ("agent_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "agent_work" cascade;`);
  }
}
