import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Ref } from '@mikro-orm/core';
import { User } from '../users/user.entity.js';

export type RevokedReason = 'logout' | 'reuse' | 'role-changed';

/**
 * An opaque refresh token, stored only as its SHA-256. Single use: presenting it rotates it to a new
 * token of the same family; presenting a spent one revokes the whole family (it was stolen).
 */
@Entity({ tableName: 'refresh_tokens' })
@Index({ properties: ['familyId'] })
export class RefreshToken {
  [OptionalProps]?: 'createdAt' | 'usedAt' | 'revokedAt' | 'revokedReason';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade', index: true })
  user!: Ref<User>;

  @Property({ type: 'uuid' })
  familyId!: string;

  @Property({ type: 'text', unique: true })
  tokenHash!: string;

  @Property({ type: 'timestamptz' })
  expiresAt!: Date;

  @Property({ type: 'timestamptz', nullable: true })
  usedAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  /** Why it was revoked: a replay of a spent token (`reuse`) is treated unlike an ordinary sign-out. */
  @Property({ type: 'text', nullable: true })
  revokedReason: RevokedReason | null = null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}
