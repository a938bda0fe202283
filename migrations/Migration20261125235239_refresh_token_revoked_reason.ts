import { Migration } from '@mikro-orm/migrations';

export class Migration20261125235239_refresh_token_revoked_reason extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "refresh_tokens" add column "revoked_reason" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "refresh_tokens" drop column "revoked_reason";`);
  }
}
