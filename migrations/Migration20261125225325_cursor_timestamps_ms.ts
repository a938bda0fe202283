import { Migration } from '@mikro-orm/migrations';

// Keyset cursors carry these timestamps as JavaScript dates (milliseconds): stored with microseconds,
// rows written by SQL (now(), clock_timestamp()) sat between two cursor values and were skipped.
export class Migration20261125225325_cursor_timestamps_ms extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "users" alter column "created_at" type timestamptz(3) using ("created_at"::timestamptz(3));`,
    );

    this.addSql(
      `alter table "agents" alter column "created_at" type timestamptz(3) using ("created_at"::timestamptz(3));`,
    );
    this.addSql(
      `alter table "agents" alter column "updated_at" type timestamptz(3) using ("updated_at"::timestamptz(3));`,
    );

    this.addSql(
      `alter table "debates" alter column "created_at" type timestamptz(3) using ("created_at"::timestamptz(3));`,
    );

    this.addSql(
      `alter table "conversations" alter column "updated_at" type timestamptz(3) using ("updated_at"::timestamptz(3));`,
    );

    this.addSql(
      `alter table "compression_runs" alter column "created_at" type timestamptz(3) using ("created_at"::timestamptz(3));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "users" alter column "created_at" type timestamptz using ("created_at"::timestamptz);`,
    );

    this.addSql(
      `alter table "agents" alter column "created_at" type timestamptz using ("created_at"::timestamptz);`,
    );
    this.addSql(
      `alter table "agents" alter column "updated_at" type timestamptz using ("updated_at"::timestamptz);`,
    );

    this.addSql(
      `alter table "debates" alter column "created_at" type timestamptz using ("created_at"::timestamptz);`,
    );

    this.addSql(
      `alter table "conversations" alter column "updated_at" type timestamptz using ("updated_at"::timestamptz);`,
    );

    this.addSql(
      `alter table "compression_runs" alter column "created_at" type timestamptz using ("created_at"::timestamptz);`,
    );
  }
}
