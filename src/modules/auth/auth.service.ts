import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config/config.js';
import { UnauthenticatedError, type AuthFailureReason } from '../../common/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import { AuditOutcome } from '../audit/audit-event.entity.js';
import { User } from '../users/user.entity.js';
import { normaliseEmail } from '../users/users.service.js';
import type { AccessTokens, AuthUser } from './access-tokens.js';
import { burnPasswordCheck, verifyPassword } from './passwords.js';
import { RefreshToken, type RevokedReason } from './refresh-token.entity.js';
import { recordRevocation, RevocationType, type SessionRevocations } from './revocations.js';

export interface Session {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
}

const revokedMessages: Record<RevokedReason, string> = {
  logout: 'Refresh token was revoked: its sign-in ended; sign in again',
  'role-changed': 'Refresh token was revoked: your role changed; sign in again',
  reuse: 'Refresh token was revoked: a refresh token of this sign-in was used twice; sign in again',
};

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function toAuthUser(user: User): AuthUser {
  return { id: user.id, email: user.email, role: user.role };
}

export class AuthService {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly settings: Config['jwt'],
    private readonly audit: AuditService,
    readonly revocations: SessionRevocations,
    /** Told of every refused sign-in or token (metrics). */
    private readonly onFailure: (reason: AuthFailureReason) => void = () => {},
  ) {}

  /** Reports a refusal's reason, then lets it through. */
  private async counted<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof UnauthenticatedError && error.reason) this.onFailure(error.reason);
      throw error;
    }
  }

  /** A valid, unexpired token whose sign-in has not ended and whose role is still the user's. */
  async verifyAccessToken(token: string): Promise<AuthUser> {
    const user = await this.tokens.verify(token);
    const revoked = this.revocations.check(user);
    if (revoked) {
      throw new UnauthenticatedError(
        revoked === 'signed-out'
          ? 'Access token was revoked: its sign-in ended'
          : 'Access token was revoked: your role changed; sign in again',
        'token_revoked',
      );
    }
    return user;
  }

  login(em: EntityManager, email: string, password: string): Promise<Session> {
    return this.counted(() => this.signIn(em, email, password));
  }

  /** Refreshes (see `rotate`), reporting refusals. */
  refresh(em: EntityManager, token: string): Promise<Session> {
    return this.counted(() => this.rotate(em, token));
  }

  private async signIn(em: EntityManager, email: string, password: string): Promise<Session> {
    const user = await em.findOne(User, { email: normaliseEmail(email) });
    if (!user) {
      await burnPasswordCheck(password);
      throw new UnauthenticatedError('Invalid email or password', 'bad_credentials');
    }
    if (!(await verifyPassword(user.passwordHash, password))) {
      throw new UnauthenticatedError('Invalid email or password', 'bad_credentials');
    }
    return em.transactional(async (tx) => {
      const current = await tx.findOneOrFail(User, user.id);
      current.lastLoginAt = new Date();
      this.audit.record(tx, {
        actor: toAuthUser(current),
        action: 'Mutation.login',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'User',
        resourceId: current.id,
      });
      return this.issue(tx, current, randomUUID());
    });
  }

  /**
   * Single use: the token is spent by a conditional UPDATE, so two concurrent refreshes with the same
   * token cannot both succeed. A spent or revoked token coming back means it leaked: the family dies.
   */
  private async rotate(em: EntityManager, token: string): Promise<Session> {
    const tokenHash = hashToken(token);
    const spent = await em.transactional(async (tx) => {
      const rows: { user_id: string; family_id: string }[] = await tx.execute(
        `update refresh_tokens set used_at = now()
          where token_hash = ? and used_at is null and revoked_at is null and expires_at > now()
          returning user_id, family_id`,
        [tokenHash],
      );
      const row = rows[0];
      if (!row) return undefined;
      const user = await tx.findOneOrFail(User, row.user_id);
      this.audit.record(tx, {
        actor: toAuthUser(user),
        action: 'Mutation.refreshToken',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'User',
        resourceId: user.id,
      });
      return this.issue(tx, user, row.family_id);
    });
    if (spent) return spent;

    const known = await em.fork().findOne(RefreshToken, { tokenHash });
    if (!known) throw new UnauthenticatedError('Refresh token is invalid', 'refresh_invalid');
    if (!known.usedAt && known.revokedAt) {
      // Ended by a sign-out, a role change or a reuse elsewhere in its family: not itself a replay.
      throw new UnauthenticatedError(revokedMessages[known.revokedReason ?? 'logout'], 'refresh_revoked');
    }
    if (known.usedAt) {
      const revoked = await em.transactional((tx) =>
        this.revokeFamily(tx, known.user.id, known.familyId, 'reuse'),
      );
      this.endedHere(known.user.id, known.familyId);
      await this.audit.recordDetached([
        {
          actor: null,
          action: 'Mutation.refreshToken',
          outcome: AuditOutcome.DENIED,
          resourceType: 'User',
          resourceId: known.user.id,
          details: { reason: 'refresh token reuse', revokedTokens: revoked },
        },
      ]);
      throw new UnauthenticatedError(
        'Refresh token was already used: every session of its sign-in was revoked',
        'refresh_reused',
      );
    }
    throw new UnauthenticatedError('Refresh token expired: sign in again', 'refresh_expired');
  }

  /** Ends the sign-in the token belongs to. Returns whether anything was still active. */
  async logout(em: EntityManager, token: string): Promise<boolean> {
    const known = await em.findOne(RefreshToken, { tokenHash: hashToken(token) });
    if (!known) return false;
    const revoked = await em.transactional(async (tx) => {
      const count = await this.revokeFamily(tx, known.user.id, known.familyId, 'logout');
      if (count === 0) return 0; // already ended: nothing happened, nothing to audit
      this.audit.record(tx, {
        actor: null,
        action: 'Mutation.logout',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'User',
        resourceId: known.user.id,
        details: { revokedTokens: count },
      });
      return count;
    });
    if (revoked > 0) this.endedHere(known.user.id, known.familyId);
    return revoked > 0;
  }

  /** Committed: this process refuses the sign-in's access tokens at once (others hear through the log). */
  private endedHere(userId: string, familyId: string): void {
    this.revocations.apply({ type: RevocationType.SIGN_IN_ENDED, userId, familyId });
  }

  /** Revokes the family's refresh tokens and, through the event log, its access tokens everywhere. */
  private async revokeFamily(
    tx: EntityManager,
    userId: string,
    familyId: string,
    reason: RevokedReason,
  ): Promise<number> {
    const count = await tx.nativeUpdate(
      RefreshToken,
      { familyId, revokedAt: null },
      { revokedAt: new Date(), revokedReason: reason },
    );
    if (count > 0) {
      await recordRevocation(tx, { type: RevocationType.SIGN_IN_ENDED, userId, familyId });
    }
    return count;
  }

  private async issue(em: EntityManager, user: User, familyId: string): Promise<Session> {
    const refreshToken = randomBytes(32).toString('base64url');
    const refreshTokenExpiresAt = new Date(Date.now() + this.settings.refreshTtlSeconds * 1000);
    em.create(RefreshToken, {
      user: user.id,
      familyId,
      tokenHash: hashToken(refreshToken),
      expiresAt: refreshTokenExpiresAt,
    });
    const access = await this.tokens.sign(toAuthUser(user), familyId);
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      refreshTokenExpiresAt,
      user,
    };
  }
}
