/**
 * SecretCipher for local mode: AES-256-GCM with the encryption context as additional authenticated
 * data, so a ciphertext sealed for one provider cannot be opened as another's. The 256-bit key
 * lives in the data dir, readable by its owner only (0600).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EncryptionContext, SecretCipher } from '../../core/ports';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const LOCAL_CIPHER_KEY_FILE = 'local-cipher.key';

/** Canonical form of the context: sorted entries, so the AAD does not depend on key order. */
function aad(context: EncryptionContext): Buffer {
  return Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export class LocalCipher implements SecretCipher {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Uint8Array): LocalCipher {
    if (key.length !== 32) throw new Error('local cipher key must be 32 bytes');
    return new LocalCipher(Buffer.from(key));
  }

  /** Opens the data dir's key file, creating it (0600) on first use. Refuses a key others can read. */
  static open(dataDir: string): LocalCipher {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = join(dataDir, LOCAL_CIPHER_KEY_FILE);
    try {
      writeFileSync(file, randomBytes(32), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    chmodSync(file, 0o600);
    const mode = statSync(file).mode & 0o777;
    if (mode !== 0o600) throw new Error(`${file} must have permissions 0600 (it has ${mode.toString(8)})`);
    return LocalCipher.fromKey(readFileSync(file));
  }

  async encrypt(plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(aad(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  async decrypt(ciphertext: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const data = Buffer.from(ciphertext);
    if (data.length < 1 + IV_BYTES + TAG_BYTES || data[0] !== VERSION) throw new Error('not a local-cipher ciphertext');
    const iv = data.subarray(1, 1 + IV_BYTES);
    const tag = data.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(aad(context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  }
}
