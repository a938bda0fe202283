import { ArgsType, Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { IsOptional, Max, MaxLength, Min } from 'class-validator';
import { ValidationError } from './errors.js';

export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(SortDirection, { name: 'SortDirection', description: 'Sort order.' });

export const MAX_PAGE_SIZE = 100;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 20, description: `How many items to return, 1–${MAX_PAGE_SIZE}.` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first: number = 20;

  @Field(() => String, { nullable: true, description: 'Return items after this cursor (an `endCursor`).' })
  @IsOptional()
  @MaxLength(512)
  after?: string;
}

@ObjectType({ description: 'Where a page sits in the whole list (Relay cursor connections).' })
export class PageInfo {
  @Field(() => Boolean, { description: 'Whether more items follow `endCursor`.' })
  hasNextPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item; pass as `after` for the next page.',
  })
  endCursor!: string | null;
}

/**
 * Keyset cursors: an opaque base64url JSON array of the sort key's name, its value and the id. Naming
 * the key lets a cursor made for one order be refused for another instead of silently skipping rows.
 */
export function encodeCursor(key: string, value: string | number, id: string): string {
  return Buffer.from(JSON.stringify([key, value, id])).toString('base64url');
}

export function decodeCursor(cursor: string, key: string): { value: string | number; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw ValidationError.field('after', 'is not a valid cursor');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    !(typeof parsed[1] === 'string' || typeof parsed[1] === 'number') ||
    typeof parsed[2] !== 'string'
  ) {
    throw ValidationError.field('after', 'is not a valid cursor');
  }
  if (parsed[0] !== key)
    throw ValidationError.field('after', `was made for a different order (${parsed[0]})`);
  return { value: parsed[1], id: parsed[2] };
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
}

/** Fetch `first + 1` rows, then call this: the extra row only tells whether there is a next page. */
export function toPage<T>(rows: T[], first: number): Page<T> {
  return { items: rows.slice(0, first), hasNextPage: rows.length > first };
}
