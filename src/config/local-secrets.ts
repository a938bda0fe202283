import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config.js';

/**
 * Development convenience: secrets that production must be given are generated once and kept in
 * the local data folder (git-ignored, mode 0600), so tokens survive restarts and the demo admin's
 * password stays the same.
 */
export interface LocalSecrets {
  jwtPrivateKeyPem: string;
  jwtPublicKeyPem: string;
  demoAdmin: { email: string; password: string };
  embeddedPostgresPassword: string;
}

export const DEMO_ADMIN_EMAIL = 'admin@parley.local';

export function generateJwtKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export async function loadOrCreateLocalSecrets(
  dataDir: string,
): Promise<{ secrets: LocalSecrets; created: boolean }> {
  const file = path.join(dataDir, 'secrets.json');
  try {
    return { secrets: JSON.parse(await readFile(file, 'utf8')) as LocalSecrets, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const keys = generateJwtKeyPair();
  const secrets: LocalSecrets = {
    jwtPrivateKeyPem: keys.privateKeyPem,
    jwtPublicKeyPem: keys.publicKeyPem,
    demoAdmin: { email: DEMO_ADMIN_EMAIL, password: randomBytes(12).toString('base64url') },
    embeddedPostgresPassword: randomBytes(18).toString('base64url'),
  };
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { secrets, created: true };
}

/** Fills in what development may invent; production configs pass through unchanged. */
export async function withLocalSecrets(config: Config): Promise<{
  config: Config;
  demoAdmin: LocalSecrets['demoAdmin'] | undefined;
  secrets: LocalSecrets | undefined;
}> {
  if (config.isProduction) return { config, demoAdmin: undefined, secrets: undefined };
  const { secrets } = await loadOrCreateLocalSecrets(config.dataDir);
  const jwt = config.jwt.privateKeyPem
    ? config.jwt
    : { ...config.jwt, privateKeyPem: secrets.jwtPrivateKeyPem, publicKeyPem: secrets.jwtPublicKeyPem };
  return { config: { ...config, jwt }, demoAdmin: config.admin ? undefined : secrets.demoAdmin, secrets };
}
