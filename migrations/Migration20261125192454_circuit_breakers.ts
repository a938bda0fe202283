import { Migration } from '@mikro-orm/migrations';

export class Migration20261125192454_circuit_breakers extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "circuit_state" as enum ('CLOSED', 'OPEN', 'HALF_OPEN');`);
    this.addSql(
      `create table "circuit_breakers" ("name" text not null, "replica" text not null, "state" "circuit_state" not null, "failure_rate" double precision not null, "calls_in_window" int not null, "last_transition_at" timestamptz not null, "open_until" timestamptz null, constraint "circuit_breakers_pkey" primary key ("name", "replica"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "circuit_breakers" cascade;`);

    this.addSql(`drop type "circuit_state";`);
  }
}
