/** `mixroute providers remove`. */
import { removeProviderKey } from '../../../lambda/admin/providers';
import type { Command } from '../command';
import { requireProviderName } from './args';

export const providersRemove: Command = {
  name: 'providers remove',
  summary: 'delete a provider\'s stored key',
  synopsis: 'NAME',
  description:
    "Deletes the stored key of a provider. Once the relay's secret cache lets go of it (5 minutes at\nmost), requests routed to that provider fail with 503 until a key is set. Revoke the key at the\nprovider too if it leaked.",
  options: {},
  target: true,
  positionals: 1,
  examples: ['npx mixroute providers remove openai'],
  async run({ values, positionals, io, withTarget }) {
    const name = requireProviderName(positionals, 'providers remove');
    return withTarget('removing a provider key', async (target) => {
      await removeProviderKey(target.stores.secrets, name);
      if (values.json) io.print(JSON.stringify({ provider: name, removed: true }));
      else io.print(`Removed the key of provider "${name}". The relay stops using it within 5 minutes (its secret cache); requests routed to it then fail with 503 until a key is set.`);
      return 0;
    });
  },
};
