/** `mixroute keys list`. */
import { type Command } from '../command';
import { table } from '../io';
import { KEY_COLUMNS, keyRow, keyView } from './args';

export const keysList: Command = {
  name: 'keys list',
  summary: 'list client keys (never a secret or hash)',
  synopsis: '',
  description: 'Lists every key: id, name, key prefix, status, created, expires, models, limits. Never a secret or hash.',
  options: {},
  target: true,
  examples: ['npx mixroute keys list', 'npx mixroute keys list --stack Mixroute --json'],
  async run({ values, io, withTarget }) {
    return withTarget('listing keys', async (target) => {
      const keys = await target.stores.keys.listKeys();
      if (values.json) io.printJson(keys.map(keyView));
      else if (keys.length === 0) io.print(`No keys on ${target.description}. Create one with \`mixroute keys create --name NAME\`.`);
      else table(io, keys.map(keyRow), KEY_COLUMNS);
      return 0;
    });
  },
};
