import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { AgentsService } from './agents/agents.service.js';
import { AuditService } from './audit/audit.service.js';
import { AccessTokens } from './auth/access-tokens.js';
import { AuthService } from './auth/auth.service.js';
import { UsersService } from './users/users.service.js';

export interface Services {
  audit: AuditService;
  auth: AuthService;
  users: UsersService;
  agents: AgentsService;
}

/** One set per app instance (not module singletons), so tests can run several apps side by side. */
export async function createServices(orm: MikroORM, config: Config, log: Logger): Promise<Services> {
  const audit = new AuditService(orm.em, log);
  const tokens = await AccessTokens.create(config.jwt);
  return {
    audit,
    auth: new AuthService(tokens, config.jwt, audit),
    users: new UsersService(audit),
    agents: new AgentsService(audit),
  };
}
