/**
 * SecretCipher over AWS KMS: Encrypt/Decrypt with an encryption context naming the provider. The
 * key policy and IAM conditions use the same context, so only the relay can decrypt provider
 * secrets, and each ciphertext opens only as the provider it was sealed for.
 */
import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { EncryptionContext, SecretCipher } from '../core/ports';

export class KmsCipher implements SecretCipher {
  constructor(
    private readonly client: KMSClient,
    private readonly keyId: string,
  ) {}

  async encrypt(plaintext: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const result = await this.client.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: plaintext, EncryptionContext: { ...context } }));
    if (!result.CiphertextBlob) throw new Error('KMS returned no ciphertext');
    return result.CiphertextBlob;
  }

  async decrypt(ciphertext: Uint8Array, context: EncryptionContext): Promise<Uint8Array> {
    const result = await this.client.send(new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: ciphertext, EncryptionContext: { ...context } }));
    if (!result.Plaintext) throw new Error('KMS returned no plaintext');
    return result.Plaintext;
  }
}
