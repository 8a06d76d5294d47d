/**
 * The two SecretCipher implementations: the local AES-256-GCM cipher (key file 0600, encryption
 * context as AAD) and the KMS cipher (encryption context on every call), the latter checked with a
 * mocked client and, where installed, against moto_server's KMS.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { KmsCipher } from '../../../lambda/stores/kms-cipher';
import { LOCAL_CIPHER_KEY_FILE, LocalCipher } from '../../../lambda/hosts/local/local-cipher';
import { providerEncryptionContext } from '../../../lambda/core/credentials';
import { describeIfMoto, MOTO_CLIENT_CONFIG, startMoto, type Moto } from '../../helpers/moto';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SECRET = encoder.encode('sk-provider-secret');

describe('local cipher', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mixroute-cipher-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('creates its key file with owner-only permissions and reuses it', async () => {
    const first = LocalCipher.open(dir);
    expect(statSync(join(dir, LOCAL_CIPHER_KEY_FILE)).mode & 0o777).toBe(0o600);
    const sealed = await first.encrypt(SECRET, providerEncryptionContext('openai'));
    const reopened = LocalCipher.open(dir);
    expect(decoder.decode(await reopened.decrypt(sealed, providerEncryptionContext('openai')))).toBe('sk-provider-secret');
  });

  test('does not contain the plaintext and differs on every encryption', async () => {
    const cipher = LocalCipher.open(dir);
    const a = await cipher.encrypt(SECRET, providerEncryptionContext('openai'));
    const b = await cipher.encrypt(SECRET, providerEncryptionContext('openai'));
    expect(Buffer.from(a).toString('latin1')).not.toContain('sk-provider-secret');
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  test('fails to open a secret under another provider\'s encryption context', async () => {
    const cipher = LocalCipher.open(dir);
    const sealed = await cipher.encrypt(SECRET, providerEncryptionContext('openai'));
    await expect(cipher.decrypt(sealed, providerEncryptionContext('anthropic'))).rejects.toThrow();
  });

  test('fails on a tampered ciphertext', async () => {
    const cipher = LocalCipher.open(dir);
    const sealed = Buffer.from(await cipher.encrypt(SECRET, providerEncryptionContext('openai')));
    sealed[sealed.length - 1] ^= 1;
    await expect(cipher.decrypt(sealed, providerEncryptionContext('openai'))).rejects.toThrow();
  });

  test('tightens a key file others could read back to 0600', () => {
    writeFileSync(join(dir, LOCAL_CIPHER_KEY_FILE), Buffer.alloc(32, 1));
    chmodSync(join(dir, LOCAL_CIPHER_KEY_FILE), 0o644);
    LocalCipher.open(dir);
    expect(statSync(join(dir, LOCAL_CIPHER_KEY_FILE)).mode & 0o777).toBe(0o600);
  });
});

describe('KMS cipher (mocked client)', () => {
  let kms: ReturnType<typeof mockClient>;
  beforeAll(() => (kms = mockClient(KMSClient)));
  afterEach(() => kms.reset());
  // The mock patches every KMSClient; the moto tests below need the real one back.
  afterAll(() => kms.restore());

  test('encrypts and decrypts with the key id and the provider\'s encryption context', async () => {
    kms.on(EncryptCommand).resolves({ CiphertextBlob: new Uint8Array([9, 9]) });
    kms.on(DecryptCommand).resolves({ Plaintext: SECRET });
    const cipher = new KmsCipher(new KMSClient({ region: 'us-east-1' }), 'arn:aws:kms:us-east-1:111122223333:key/abc');
    expect(await cipher.encrypt(SECRET, providerEncryptionContext('openai'))).toEqual(new Uint8Array([9, 9]));
    expect(await cipher.decrypt(new Uint8Array([9, 9]), providerEncryptionContext('openai'))).toEqual(SECRET);
    const expectedContext = { purpose: 'mixroute-provider-secret', provider: 'openai' };
    expect(kms.commandCalls(EncryptCommand)[0].args[0].input).toMatchObject({ KeyId: 'arn:aws:kms:us-east-1:111122223333:key/abc', EncryptionContext: expectedContext });
    expect(kms.commandCalls(DecryptCommand)[0].args[0].input).toMatchObject({ KeyId: 'arn:aws:kms:us-east-1:111122223333:key/abc', EncryptionContext: expectedContext });
  });

  test('fails when KMS returns nothing', async () => {
    kms.on(DecryptCommand).resolves({});
    const cipher = new KmsCipher(new KMSClient({ region: 'us-east-1' }), 'k');
    await expect(cipher.decrypt(new Uint8Array([1]), providerEncryptionContext('openai'))).rejects.toThrow(/no plaintext/);
  });
});

describeIfMoto('KMS cipher against moto_server', () => {
  let moto: Moto;
  let client: KMSClient;
  let keyId: string;
  beforeAll(async () => {
    moto = await startMoto();
    client = new KMSClient({ ...MOTO_CLIENT_CONFIG, endpoint: moto.endpoint });
    keyId = (await client.send(new CreateKeyCommand({ Description: 'mixroute test' }))).KeyMetadata?.KeyId as string;
  }, 30_000);
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  test('round-trips a provider secret with its encryption context', async () => {
    const cipher = new KmsCipher(client, keyId);
    const sealed = await cipher.encrypt(SECRET, providerEncryptionContext('openai'));
    expect(decoder.decode(await cipher.decrypt(sealed, providerEncryptionContext('openai')))).toBe('sk-provider-secret');
  });

  test('refuses to decrypt under another provider\'s encryption context', async () => {
    const cipher = new KmsCipher(client, keyId);
    const sealed = await cipher.encrypt(SECRET, providerEncryptionContext('openai'));
    await expect(cipher.decrypt(sealed, providerEncryptionContext('anthropic'))).rejects.toThrow();
  });
});
