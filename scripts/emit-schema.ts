// Prints schema.graphql from the code (`npm run gen`). The header marks it as generated.
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { projectRoot } from '../src/db/orm.js';
import { buildBaseSchema, SCHEMA_DESCRIPTION_HEADER } from '../src/graphql/schema.js';

export async function printParleySchema(): Promise<string> {
  return `${SCHEMA_DESCRIPTION_HEADER}\n${printSchema(lexicographicSortSchema(await buildBaseSchema()))}\n`;
}

const target = path.join(projectRoot, 'schema.graphql');
await writeFile(target, await printParleySchema());
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
