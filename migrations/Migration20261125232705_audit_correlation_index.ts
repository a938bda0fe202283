import { Migration } from '@mikro-orm/migrations';

export class Migration20261125232705_audit_correlation_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "audit_events_correlation_id_index" on "audit_events" ("correlation_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "audit_events_correlation_id_index";`);
  }
}
