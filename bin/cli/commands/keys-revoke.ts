/** `mixroute keys revoke`. */
import { revokeClientKey } from '../../../lambda/admin/keys';
import { type Command } from '../command';
import { keyView, requireId } from './args';

export const keysRevoke: Command = {
  name: 'keys revoke',
  summary: 'revoke a key and all its secrets',
  synopsis: 'ID',
  description: 'Revokes the key and all its secrets. New requests are refused within the key-cache TTL\n(30 s at most); open streams end with a key_revoked error within streamKeyRecheckMs (30 s at most).',
  options: {},
  target: true,
  positionals: 1,
  examples: ['npx mixroute keys revoke key_AbC123'],
  async run({ values, positionals, io, withTarget }) {
    const id = requireId(positionals, 'keys revoke');
    return withTarget('revoking a key', async (target) => {
      const key = await revokeClientKey(target.stores.keys, id);
      if (values.json) io.printJson(keyView(key));
      else io.print(`Revoked key ${key.id} (${key.name}). The relay refuses it within 30 seconds (its key cache), open streams included.`);
      return 0;
    });
  },
};
