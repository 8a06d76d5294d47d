/** `mixroute providers list`. */
import { listProviders } from '../../../lambda/admin/providers';
import { type Command } from '../command';
import { table } from '../io';

export const providersList: Command = {
  name: 'providers list',
  summary: 'list providers with their key fingerprints',
  synopsis: '',
  description: 'Lists the configured providers: name, type, base URL, key fingerprint and when it was set.',
  options: {},
  target: true,
  examples: ['npx mixroute providers list --stack Mixroute'],
  async run({ values, io, withTarget }) {
    return withTarget('listing providers', async (target) => {
      const providers = await listProviders(target.stores.secrets, target.routes);
      if (values.json) io.printJson(providers);
      else if (providers.length === 0) io.print('No providers are configured.');
      else {
        const keyOf = (p: (typeof providers)[number]) => p.fingerprint ?? (p.credential === 'runtime-role' ? 'IAM role' : p.credential === 'none' ? 'none needed' : 'no key');
        table(io, providers.map((p) => ({ name: p.name, type: p.type, baseUrl: p.baseUrl, fingerprint: keyOf(p), set: p.updatedAt ?? '-' })), ['name', 'type', 'baseUrl', 'fingerprint', 'set']);
      }
      return 0;
    });
  },
};
