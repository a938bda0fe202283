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

export type CursorValueKind = 'date' | 'text' | 'none';
export type CursorIdKind = 'uuid' | 'integer';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function valid(value: unknown, kind: CursorValueKind): boolean {
  if (kind === 'date') return typeof value === 'string' && !Number.isNaN(Date.parse(value));
  if (kind === 'text') return typeof value === 'string';
  return true;
}

/**
 * Decodes and checks a cursor completely, so a tampered one is BAD_USER_INPUT naming `after`, never a
 * database error.
 */
export function decodeCursor(
  cursor: string,
  key: string,
  kinds: { value: CursorValueKind; id: CursorIdKind },
): { value: string | number; id: string } {
  const invalid = () => ValidationError.field('after', 'is not a valid cursor');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[0] !== 'string') throw invalid();
  const [cursorKey, value, id] = parsed as [string, unknown, unknown];
  if (cursorKey !== key)
    throw ValidationError.field('after', `was made for a different order (${cursorKey})`);
  if (!(typeof value === 'string' || typeof value === 'number') || !valid(value, kinds.value))
    throw invalid();
  if (typeof id !== 'string' || !(kinds.id === 'uuid' ? uuid.test(id) : /^\d{1,19}$/.test(id)))
    throw invalid();
  return { value, id };
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
}

/** Fetch `first + 1` rows, then call this: the extra row only tells whether there is a next page. */
export function toPage<T>(rows: T[], first: number): Page<T> {
  return { items: rows.slice(0, first), hasNextPage: rows.length > first };
}
