import { errors, importPKCS8, importSPKI, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import type { Config } from '../../config/config.js';
import { UnauthenticatedError } from '../../common/errors.js';
import { Role } from '../users/role.js';

/** Who is calling, as proven by a verified access token. */
export interface AuthUser {
  id: string;
  email: string;
  role: Role;
  /** The sign-in (refresh-token family) the token belongs to: logging out ends its access tokens too. */
  sessionId?: string;
  /** When the access token expires (epoch seconds): WebSocket connections close then. */
  expiresAt?: number;
  /** When it was issued (epoch seconds): a role change revokes every token issued before it. */
  issuedAt?: number;
}

const ALGORITHM = 'EdDSA';
const TOKEN_TYPE = 'at+jwt';
const VERIFIED_CACHE_SIZE = 10_000; // RFC 9068: keeps ID tokens or other JWTs from being replayed as access tokens

/**
 * Short-lived signed access tokens. The algorithm is pinned (Ed25519) and `iss`, `aud`, `typ` and
 * expiry are checked, so `alg: none` and HS/RS confusion cannot get through.
 */
export class AccessTokens {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly settings: Config['jwt'],
  ) {}

  static async create(settings: Config['jwt']): Promise<AccessTokens> {
    if (!settings.privateKeyPem || !settings.publicKeyPem) {
      throw new Error('JWT keys are missing: set JWT_PRIVATE_KEY and JWT_PUBLIC_KEY');
    }
    const [privateKey, publicKey] = await Promise.all([
      importPKCS8(settings.privateKeyPem, ALGORITHM),
      importSPKI(settings.publicKeyPem, ALGORITHM),
    ]);
    return new AccessTokens(privateKey, publicKey, settings);
  }

  async sign(user: AuthUser, sessionId: string): Promise<{ token: string; expiresAt: Date }> {
    // Milliseconds kept (RFC 7519 allows a fractional NumericDate): a role change revokes the tokens
    // issued before it, even within the same second.
    const issuedAt = Date.now() / 1000;
    const expiresAt = Math.floor(issuedAt) + this.settings.accessTtlSeconds;
    const token = await new SignJWT({ email: user.email, role: user.role, sid: sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: TOKEN_TYPE })
      .setSubject(user.id)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.privateKey);
    return { token, expiresAt: new Date(expiresAt * 1000) };
  }

  /**
   * Tokens already verified, until they expire: a dashboard sends the same token with every request,
   * and checking an Ed25519 signature each time is most of the cost of authenticating. Bounded; the
   * oldest entries go first. Revocation is checked on every request regardless (AuthService).
   */
  private readonly verified = new Map<string, AuthUser>();

  /** Returns the caller or throws an `UnauthenticatedError` saying what was wrong with the token. */
  async verify(token: string): Promise<AuthUser> {
    const known = this.verified.get(token);
    if (known) {
      // Expired in the meantime: verified again, which reports it as such.
      if (known.expiresAt !== undefined && known.expiresAt + 5 > Date.now() / 1000) return known;
      this.verified.delete(token);
    }
    const user = await this.verifySignature(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    this.verified.set(token, user);
    return user;
  }

  private async verifySignature(token: string): Promise<AuthUser> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        typ: TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat'],
        clockTolerance: 5,
        // Also refuses tokens "issued" in the future, and caps a token's life at what we issue.
        maxTokenAge: this.settings.accessTtlSeconds,
      });
      const { role, sid } = payload;
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.email !== 'string' ||
        !isRole(role) ||
        (sid !== undefined && typeof sid !== 'string')
      ) {
        throw new UnauthenticatedError('Access token is malformed', 'token_malformed');
      }
      return {
        id: payload.sub,
        email: payload.email,
        role,
        sessionId: sid,
        expiresAt: payload.exp,
        issuedAt: payload.iat,
      };
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error;
      if (error instanceof errors.JWTExpired)
        throw new UnauthenticatedError('Access token expired: refresh it', 'token_expired');
      throw new UnauthenticatedError('Access token is invalid', 'token_invalid');
    }
  }
}

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && Object.values(Role).includes(value as Role);
}

/** Accepts `Bearer <token>` (any case) and returns the token, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : header.trim() || undefined;
}
