// What the examples share: where Parley is, who signs in, and errors said in words. The examples talk to
// Parley only through the typed SDK. In a project of your own, import it as `parley/sdk` (see the README's
// "The typed SDK"); here it is imported from this repository's sources, compiled next to the examples.
/* eslint-disable no-restricted-properties -- an example is a client with settings of its own, not the server */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AgentsDocument,
  CreateAgentDocument,
  createParleyClient,
  isParleyError,
  ModelsDocument,
  UpdateAgentDocument,
  type ParleyClient,
} from '../src/sdk/index.js';

export const PARLEY_URL = process.env.PARLEY_URL ?? 'http://127.0.0.1:8000/graphql';

/**
 * PARLEY_EMAIL and PARLEY_PASSWORD, or else the demo admin that `npm start` prints in development, read
 * from where it keeps it (.parley/secrets.json, or PARLEY_DATA_DIR's).
 */
function credentials(): { email: string; password: string } {
  const { PARLEY_EMAIL: email, PARLEY_PASSWORD: password } = process.env;
  if (email && password) return { email, password };
  const file = path.join(process.env.PARLEY_DATA_DIR ?? '.parley', 'secrets.json');
  try {
    const { demoAdmin } = JSON.parse(readFileSync(file, 'utf8')) as {
      demoAdmin: { email: string; password: string };
    };
    console.log(`(signing in as the demo admin ${demoAdmin.email}, from ${file})`);
    return demoAdmin;
  } catch {
    throw new Error(
      `Set PARLEY_EMAIL and PARLEY_PASSWORD (npm start prints the demo admin's), or run this from the ` +
        `folder where npm start keeps ${file}.`,
    );
  }
}

/** Signs in on first use; waits out RATE_LIMITED answers instead of failing. */
export function connect(): ParleyClient {
  return createParleyClient({ url: PARLEY_URL, login: credentials() }, { retry: { rateLimited: true } });
}

/** A model the Ollama behind Parley has (PARLEY_MODEL, else the first it lists). */
export async function pickModel(parley: ParleyClient): Promise<string> {
  const { models } = await parley.query(ModelsDocument);
  const wanted = process.env.PARLEY_MODEL;
  const model = wanted ? models.find((each) => each.name === wanted) : models[0];
  if (!model) {
    throw new Error(
      wanted
        ? `Ollama has no model ${wanted} (it has: ${models.map((each) => each.name).join(', ') || 'none'})`
        : 'Ollama has no models: `ollama pull llama3.2:3b`, or use `npm run fake-ollama`',
    );
  }
  return model.name;
}

/** What to do about the usual problems, in words. */
function explain(error: unknown): string {
  if (isParleyError(error, 'NETWORK_ERROR'))
    return `Cannot reach Parley at ${PARLEY_URL}. Is \`npm start\` running? (PARLEY_URL says where.)`;
  if (isParleyError(error, 'SERVICE_UNAVAILABLE'))
    return (
      `Parley cannot reach Ollama: ${error.message}\n` +
      'Start one (`npm run fake-ollama` in another terminal gives a fake one), with Parley started with ' +
      'OLLAMA_HOST pointing at it.'
    );
  if (isParleyError(error, 'UNAUTHENTICATED'))
    return `Signing in failed: ${error.message}. Check PARLEY_EMAIL and PARLEY_PASSWORD.`;
  if (isParleyError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs an example: its errors end it with a message and exit code 1; the client is always closed. */
export async function runExample(main: (parley: ParleyClient) => Promise<void>): Promise<void> {
  let parley: ParleyClient | undefined;
  try {
    parley = connect();
    await main(parley);
  } catch (error) {
    console.error(`\n${explain(error)}`);
    process.exitCode = 1;
  } finally {
    await parley?.close().catch(() => undefined);
  }
}

/** The agent of this name that the signed-in user owns, made or brought up to date. */
export async function ensureAgent(
  parley: ParleyClient,
  input: { name: string; model: string; description: string; systemPrompt: string; temperature?: number },
  ownerId: string,
): Promise<{ id: string; name: string }> {
  const { agents } = await parley.query(AgentsDocument, {
    first: 50,
    filter: { ownerId, nameContains: input.name },
  });
  const existing = agents.edges.map((edge) => edge.node).find((agent) => agent.name === input.name);
  if (!existing) return (await parley.mutate(CreateAgentDocument, { input })).createAgent;
  const { name: _name, ...changes } = input;
  return (
    await parley.mutate(UpdateAgentDocument, { id: existing.id, input: { ...changes, status: 'ACTIVE' } })
  ).updateAgent;
}
