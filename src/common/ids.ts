import { ValidationError } from './errors.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id is bad input (named after its argument); a well-formed unknown one is NOT_FOUND later. */
export function assertUuid(value: string, field = 'id'): string {
  if (!uuid.test(value)) throw ValidationError.field(field, 'must be a UUID');
  return value.toLowerCase();
}
