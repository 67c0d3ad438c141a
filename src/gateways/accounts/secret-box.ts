import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Channel-account secrets at rest: AES-256-GCM under a key-encryption key (KEK) from the environment.
 *
 * A sealed value is `v1.<kekId>.<iv>.<tag>.<ciphertext>` (base64url parts): the KEK id travels with the value,
 * so several KEKs can be configured at once while values are re-encrypted from the old one to the new one.
 * The associated data binds a value to the account and field it was sealed for: a ciphertext copied into
 * another account's row (or another field) does not open. A fresh 96-bit IV per seal, as GCM requires.
 */
export interface KeyEncryptionKeys {
  /** The KEK new values are sealed with. */
  currentId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export class SecretUnavailable extends Error {}

const VERSION = 'v1';

export class SecretBox {
  constructor(private readonly keks: KeyEncryptionKeys | undefined) {}

  get configured(): boolean {
    return this.keks !== undefined;
  }

  get currentKekId(): string | undefined {
    return this.keks?.currentId;
  }

  seal(plain: string, associated: string): string {
    const keks = this.require();
    const key = keks.keys.get(keks.currentId);
    if (!key) throw new SecretUnavailable(`ACCOUNT_KEK_ID ${keks.currentId} is not one of ACCOUNT_KEKS`);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associated, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, keks.currentId, b64(iv), b64(cipher.getAuthTag()), b64(body)].join('.');
  }

  /** Throws SecretUnavailable naming the KEK when the value cannot be opened (unknown KEK, wrong key, tampered). */
  open(sealed: string, associated: string): string {
    const keks = this.require();
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretUnavailable('not a sealed secret');
    const [, kekId, iv, tag, body] = parts;
    const key = keks.keys.get(kekId);
    if (!key) throw new SecretUnavailable(`sealed with KEK ${kekId}, which ACCOUNT_KEKS does not hold`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associated, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnavailable(`does not decrypt with KEK ${kekId} (a different key under that id, or altered)`);
    }
  }

  /** The KEK a sealed value names (what the re-encrypt command looks for). */
  static kekIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 ? parts[1] : undefined;
  }

  private require(): KeyEncryptionKeys {
    if (!this.keks) {
      throw new SecretUnavailable('ACCOUNT_KEKS is not set: channel accounts cannot be stored or read');
    }
    return this.keks;
  }
}

const b64 = (buffer: Buffer) => buffer.toString('base64url');

/**
 * `ACCOUNT_KEKS=<id>:<base64 of 32 bytes>[,<id>:<key>…]` and `ACCOUNT_KEK_ID=<id>` (may be left empty when
 * there is one key). Empty ACCOUNT_KEKS: no KEK (only the environment's default accounts can be used).
 */
export function parseKeks(list: string, currentId: string): KeyEncryptionKeys | undefined {
  if (list.trim() === '') {
    if (currentId) throw new Error('ACCOUNT_KEK_ID is set but ACCOUNT_KEKS is empty');
    return undefined;
  }
  const keys = new Map<string, Buffer>();
  for (const entry of list.split(',')) {
    const at = entry.indexOf(':');
    const id = entry.slice(0, at).trim();
    if (at <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) {
      throw new Error('each entry must be <id>:<base64 key> with an id of letters, digits, - and _ (at most 32)');
    }
    const key = Buffer.from(entry.slice(at + 1).trim(), 'base64');
    if (key.length !== 32) throw new Error(`key ${id} must be 32 bytes, base64 (e.g. \`openssl rand -base64 32\`)`);
    if (keys.has(id)) throw new Error(`key id ${id} appears twice`);
    keys.set(id, key);
  }
  const current = currentId || (keys.size === 1 ? [...keys.keys()][0] : '');
  if (!current) throw new Error('several keys: ACCOUNT_KEK_ID must name the one new values are sealed with');
  if (!keys.has(current)) throw new Error(`ACCOUNT_KEK_ID ${current} is not one of its ids`);
  return { currentId: current, keys };
}
