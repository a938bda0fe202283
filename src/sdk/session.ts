import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { isParleyError } from './errors.js';
import {
  LoginDocument,
  LogoutDocument,
  RefreshTokenDocument,
  type SessionFieldsFragment,
} from './generated/graphql.js';

/** Sends one operation over HTTP with the given access token (or none); throws ParleyError. */
export type Send = <TData, TVariables>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  token: string | undefined,
) => Promise<TData>;

export type Credentials = { token?: string } | { login: { email: string; password: string } };

/**
 * The access token the client presents. With a fixed token there is nothing to manage. With a login it
 * signs in on first use, refreshes a little before the token expires, and keeps the rotated refresh
 * token: refresh tokens are single-use, so two refreshes must never run at once (the second would replay
 * a spent token and the server would end the whole sign-in). Every renewal therefore goes through one
 * promise that concurrent callers share.
 */
export class Session {
  private tokens: { access: string; refresh: string; renewAt: number } | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly send: Send,
    private readonly credentials: Credentials,
  ) {}

  /** The token to send now, renewed first when it is about to expire. */
  async accessToken(): Promise<string | undefined> {
    if (!('login' in this.credentials)) return this.credentials.token;
    if (this.pending) await this.pending;
    if (!this.tokens || Date.now() >= this.tokens.renewAt) await this.renewOnce();
    return this.tokens!.access;
  }

  /**
   * The server refused `stale`: renew unless a concurrent caller already replaced it. Resolves false when
   * there is nothing to renew with (a fixed token), so the caller reports the refusal as it is.
   */
  async renew(stale: string | undefined): Promise<boolean> {
    if (!('login' in this.credentials)) return false;
    if (this.pending) await this.pending;
    if (!this.tokens || this.tokens.access === stale) await this.renewOnce();
    return true;
  }

  /** Ends the sign-in this session made, so its refresh token is worthless afterwards. Best effort. */
  async end(): Promise<void> {
    await this.pending?.catch(() => undefined);
    const refresh = this.tokens?.refresh;
    this.tokens = undefined;
    if (refresh) await this.send(LogoutDocument, { token: refresh }, undefined).catch(() => undefined);
  }

  private renewOnce(): Promise<void> {
    this.pending ??= this.renewNow().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async renewNow(): Promise<void> {
    const { login } = this.credentials as { login: { email: string; password: string } };
    if (this.tokens) {
      try {
        const { refreshToken } = await this.send(
          RefreshTokenDocument,
          { token: this.tokens.refresh },
          undefined,
        );
        return this.keep(refreshToken);
      } catch (error) {
        // Expired (30 days by default) or its sign-in ended: we hold the password, so sign in again.
        if (!isParleyError(error, 'UNAUTHENTICATED')) throw error;
      }
    }
    this.keep((await this.send(LoginDocument, login, undefined)).login);
  }

  private keep(session: SessionFieldsFragment): void {
    const now = Date.now();
    const lifetime = Date.parse(session.accessTokenExpiresAt) - now;
    // A fifth of the lifetime early, at most 30 s: 15-minute tokens renew 30 s early, 10-second ones 2 s.
    // This trusts the two clocks to agree that closely; when they do not, the server's UNAUTHENTICATED
    // answer (HTTP) or 4401 close (WebSocket) makes the client renew anyway.
    const margin = Math.min(30_000, lifetime / 5);
    this.tokens = {
      access: session.accessToken,
      refresh: session.refreshToken,
      renewAt: now + lifetime - margin,
    };
  }
}
