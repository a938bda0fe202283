import { Role } from '../../src/modules/users/role.js';
import { LoginDocument, type SessionFieldsFragment } from '../../src/sdk/generated/graphql.js';
import { execute } from './client.js';
import { rememberSecret } from './secrets-audit.js';
import type { TestServer } from './server.js';

export interface Actor {
  role: Role;
  email: string;
  password: string;
  session: SessionFieldsFragment;
  token: string;
}

export type Actors = Record<Role, Actor>;

/** A signed-in user of each role, created through the service layer and logged in over HTTP. */
export async function createActors(server: TestServer, prefix = 'user'): Promise<Actors> {
  const entries = await Promise.all(
    Object.values(Role).map(
      async (role) => [role, await createActor(server, role, `${prefix}-${role.toLowerCase()}`)] as const,
    ),
  );
  return Object.fromEntries(entries) as Actors;
}

export async function createActor(server: TestServer, role: Role, name: string): Promise<Actor> {
  const email = `${name}@example.test`;
  const password = `correct horse ${name}`;
  await server.app.services.users.create(server.app.orm.em.fork(), null, { email, password, role });
  const response = await execute(server.url, LoginDocument, { email, password });
  const session = response.data?.login;
  if (!session) throw new Error(`login for ${email} failed: ${JSON.stringify(response.errors)}`);
  rememberSecret(password, session.accessToken, session.refreshToken);
  return { role, email, password, session, token: session.accessToken };
}
