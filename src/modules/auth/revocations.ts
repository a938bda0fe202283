import type { EntityManager } from '@mikro-orm/postgresql';
import { appendEvent, type EventHub, type StoredEvent } from '../../realtime/index.js';
import type { EventReader } from '../../realtime/event-log.js';
import type { Logger } from '../../observability/logger.js';
import { roleAtLeast, type Role } from '../users/role.js';
import type { AuthUser } from './access-tokens.js';

/** Ended sign-ins and role changes, on the event log so every replica hears of them. */
export const SESSIONS_STREAM = 'sessions';

export enum RevocationType {
  /** One sign-in ended (logout, or its refresh token was replayed): its access tokens die with it. */
  SIGN_IN_ENDED = 'SIGN_IN_ENDED',
  /** The user's role changed: access tokens carrying another role die. */
  ROLE_CHANGED = 'ROLE_CHANGED',
}

export interface Revocation {
  type: RevocationType;
  userId: string;
  /** SIGN_IN_ENDED: the refresh-token family (the access token's `sid`). */
  familyId?: string;
  /** ROLE_CHANGED: the role now in force. */
  role?: Role;
}

/**
 * Records a revocation in the transaction that makes it (refresh tokens revoked, role changed). Other
 * processes learn of it from the event log; the caller applies it here once committed (`apply`), so the
 * process that answered the mutation refuses the token from its very next request.
 */
export async function recordRevocation(em: EntityManager, revocation: Revocation): Promise<void> {
  await appendEvent(em, {
    stream: SESSIONS_STREAM,
    type: revocation.type,
    entityId: revocation.userId,
    payload: { ...revocation },
  });
}

/** Why a token (or a connection holding one) is no longer good. */
export type RevokedBecause = 'signed-out' | 'demoted' | 'role-changed';

/**
 * Access tokens are stateless and short-lived; this closes the gap until they expire. Each process keeps
 * the revocations of the last access-token lifetime (older tokens are expired anyway), read from the
 * event log at start and followed live, so checking a token costs two map lookups and no query.
 */
export class SessionRevocations {
  private readonly endedSignIns = new Map<string, number>();
  private readonly roles = new Map<string, { role: Role; changedAt: number; until: number }>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private events: AsyncIterableIterator<StoredEvent> | undefined;

  constructor(
    private readonly accessTtlMs: number,
    private readonly log: Logger,
  ) {}

  /** Why this token's holder must sign in again, or undefined while it is good. */
  check(user: AuthUser): RevokedBecause | undefined {
    const now = Date.now();
    if (user.sessionId) {
      const until = this.endedSignIns.get(user.sessionId);
      if (until !== undefined && until > now) return 'signed-out';
    }
    const current = this.roles.get(user.id);
    if (!current || current.until <= now) return undefined;
    if (current.role !== user.role) return roleAtLeast(current.role, user.role) ? 'role-changed' : 'demoted';
    // Same role again (demoted, then promoted back): tokens from before the change stay dead (`iat`
    // carries milliseconds, see AccessTokens.sign).
    if (user.issuedAt !== undefined && user.issuedAt * 1000 < current.changedAt) return 'role-changed';
    return undefined;
  }

  /** Calls `onRevoked` when a revocation reaches this user's token; returns the unsubscribe. */
  watch(user: AuthUser, onRevoked: (because: RevokedBecause) => void): () => void {
    const watcher = () => {
      const because = this.check(user);
      if (because) onRevoked(because);
    };
    let set = this.watchers.get(user.id);
    if (!set) this.watchers.set(user.id, (set = new Set()));
    set.add(watcher);
    return () => {
      set.delete(watcher);
      if (set.size === 0) this.watchers.delete(user.id);
    };
  }

  apply(revocation: Revocation, at = Date.now()): void {
    const until = at + this.accessTtlMs + 60_000; // plus clock tolerance
    if (revocation.type === RevocationType.SIGN_IN_ENDED && revocation.familyId) {
      this.endedSignIns.set(revocation.familyId, until);
    } else if (revocation.type === RevocationType.ROLE_CHANGED && revocation.role) {
      // Applied here at commit, then heard again from the log: never let an older change win.
      const known = this.roles.get(revocation.userId);
      if (known && known.changedAt >= at) return;
      this.roles.set(revocation.userId, { role: revocation.role, changedAt: at, until });
    }
    this.prune();
    for (const watcher of this.watchers.get(revocation.userId) ?? []) watcher();
  }

  /** Reads the last token lifetime's revocations, then follows new ones. */
  async follow(hub: EventHub, reader: EventReader): Promise<void> {
    const [row] = await reader.execute<{ after: string }>(
      `select coalesce(
         (select max(seq) from events where stream = ? and created_at <= now() - make_interval(secs => ?)),
         (select min(seq) - 1 from events where stream = ?),
         (select last_seq from event_streams where stream = ?),
         0) as after`,
      [SESSIONS_STREAM, this.accessTtlMs / 1000 + 60, SESSIONS_STREAM, SESSIONS_STREAM],
    );
    this.events = await hub.subscribe(SESSIONS_STREAM, { afterSeq: Number(row?.after ?? 0) });
    void (async () => {
      for await (const event of this.events!) {
        this.apply(event.payload as unknown as Revocation, new Date(event.createdAt).getTime());
      }
    })().catch((err: unknown) => this.log.error({ err }, 'stopped following session revocations'));
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, until] of this.endedSignIns) if (until <= now) this.endedSignIns.delete(id);
    for (const [id, entry] of this.roles) if (entry.until <= now) this.roles.delete(id);
  }

  async stop(): Promise<void> {
    await this.events?.return?.();
  }
}
