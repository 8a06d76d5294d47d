/** `mixroute providers set-key`. */
import { AdminInputError } from '../../../lambda/admin/keys';
import { requireProvider, setProviderKey } from '../../../lambda/admin/providers';
import type { Command } from '../command';
import { requireProviderName } from './args';

export const providersSetKey: Command = {
  name: 'providers set-key',
  summary: 'store a provider key encrypted (KMS in AWS, AES-256-GCM locally)',
  synopsis: 'NAME [--from-env VAR]',
  description:
    "Stores the provider's API key encrypted (KMS with the provider's encryption context on AWS,\nAES-256-GCM locally) with a short fingerprint. The key is read from standard input, or from the\nenvironment variable named by --from-env; never from the command line. Providers that authenticate\nwith the relay's own IAM role store no key.",
  options: { 'from-env': { type: 'string' } },
  target: true,
  positionals: 1,
  examples: ['printenv OPENAI_API_KEY | npx mixroute providers set-key openai', 'npx mixroute providers set-key anthropic --from-env ANTHROPIC_API_KEY --stack Mixroute'],
  async run({ values, positionals, io, withTarget }) {
    const name = requireProviderName(positionals, 'providers set-key');
    return withTarget('storing a provider key', async (target) => {
      const provider = requireProvider(target.routes, name);
      if (provider.credential === 'runtime-role') {
        throw new AdminInputError(`provider "${name}" (${provider.type}) uses the relay's own IAM role (AWS credentials), not a stored key; there is nothing to set`);
      }
      if (provider.credential === 'none') throw new AdminInputError(`provider "${name}" (${provider.type}) needs no key`);
      let secret: string;
      const fromEnv = values['from-env'];
      if (typeof fromEnv === 'string') {
        secret = io.env[fromEnv] ?? '';
        if (!secret) throw new AdminInputError(`environment variable ${fromEnv} is empty or not set`);
      } else {
        secret = await io.readSecret();
      }
      const result = await setProviderKey(target.stores.secrets, target.cipher, name, secret);
      if (values.json) io.print(JSON.stringify(result));
      else io.print(`Stored the key for provider "${name}" on ${target.description} (fingerprint ${result.fingerprint}). The relay uses it within 5 minutes (at once if it had none).`);
      return 0;
    });
  },
};
