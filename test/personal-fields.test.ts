import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import { createActors, type Actors } from './support/actors.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let actors: Actors;

async function post(token: string, query: string) {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
  };
}

beforeAll(async () => {
  server = await startTestServer();
  actors = await createActors(server, 'personal');
  const created = await post(
    actors.OPERATOR.token,
    'mutation { createAgent(input: { name: "personal-agent", model: "llama3.2:3b" }) { id } }',
  );
  expect(created.errors).toBeUndefined();
});

afterAll(() => server?.close());

const ownerLastLogin = '{ agents(first: 5) { nodes { name owner { email lastLoginAt } } } }';

describe('User.lastLoginAt (personal: the user themself or an ADMIN)', () => {
  it('is shown to the user themself', async () => {
    const reply = await post(actors.OPERATOR.token, '{ me { email lastLoginAt } }');
    expect(reply.errors).toBeUndefined();
    expect(reply.data?.me).toMatchObject({ email: actors.OPERATOR.email, lastLoginAt: expect.any(String) });
  });

  it('is refused to another user reading it through an agent’s owner, with the rest of the answer intact', async () => {
    const reply = await post(actors[Role.VIEWER].token, ownerLastLogin);
    const nodes = (reply.data?.agents as { nodes: { owner: { email: string; lastLoginAt: unknown } }[] })
      .nodes;
    expect(nodes[0]!.owner).toEqual({ email: actors.OPERATOR.email, lastLoginAt: null });
    expect(reply.errors?.map((error) => [error.extensions?.code, error.path?.join('.')])).toEqual([
      ['FORBIDDEN', 'agents.nodes.0.owner.lastLoginAt'],
    ]);
  });

  it('is shown to an ADMIN', async () => {
    const reply = await post(actors.ADMIN.token, ownerLastLogin);
    expect(reply.errors, JSON.stringify(reply.errors)).toBeUndefined();
    const nodes = (reply.data?.agents as { nodes: { owner: { lastLoginAt: unknown } }[] }).nodes;
    expect(nodes[0]!.owner.lastLoginAt).toEqual(expect.any(String));
  });
});
