import { randomUUID } from 'node:crypto';
import { Entity, Enum, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType } from 'type-graphql';
import { Role } from './role.js';

@ObjectType({ description: 'A person or service account that signs in to Parley.' })
@Entity({ tableName: 'users' })
export class User {
  [OptionalProps]?: 'role' | 'createdAt' | 'updatedAt' | 'lastLoginAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { description: 'Sign-in email, stored lower-case; unique.' })
  @Property({ type: 'text', unique: true })
  email!: string;

  /** argon2id hash; never exposed. */
  @Property({ type: 'text', hidden: true })
  passwordHash!: string;

  @Field(() => Role, { description: 'What the user may do.' })
  @Enum({ items: () => Role, nativeEnumName: 'user_role' })
  role: Role = Role.VIEWER;

  @Field(() => Date, { description: 'When the user was created.' })
  @Property({ type: 'timestamptz', length: 3 })
  createdAt: Date = new Date();

  @Field(() => Date, { description: 'When the user was last changed.' })
  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Field(() => Date, {
    nullable: true,
    description: 'When the user last signed in. Only the user and ADMINs see it.',
  })
  @Property({ type: 'timestamptz', nullable: true })
  lastLoginAt: Date | null = null;
}
