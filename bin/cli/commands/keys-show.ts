/** `mixroute keys show`. */
import { requireKey } from '../../../lambda/admin/keys';
import { type Command } from '../command';
import { keyRow, keyView, requireId } from './args';

export const keysShow: Command = {
  name: 'keys show',
  summary: 'show one key and its working secrets',
  synopsis: 'ID',
  description: 'Shows one key and how many secrets it has (a rotated key has two until the grace period ends).',
  options: {},
  target: true,
  positionals: 1,
  examples: ['npx mixroute keys show key_AbC123'],
  async run({ values, positionals, io, withTarget }) {
    const id = requireId(positionals, 'keys show');
    return withTarget('reading a key', async (target) => {
      const key = await requireKey(target.stores.keys, id);
      const now = Date.now();
      const secrets = (await target.stores.keys.listSecrets(id)).filter((s) => !s.notAfter || Date.parse(s.notAfter) > now);
      const view = { ...keyView(key), workingSecrets: secrets.length, secretsEnding: secrets.flatMap((s) => (s.notAfter ? [s.notAfter] : [])) };
      if (values.json) io.printJson(view);
      else {
        for (const [field, value] of Object.entries(keyRow(key))) io.print(`${field.padEnd(9)} ${value}`);
        io.print(`${'rotated'.padEnd(9)} ${key.rotatedAt ?? 'never'}`);
        io.print(`${'secrets'.padEnd(9)} ${secrets.length} working${view.secretsEnding.length ? ` (${view.secretsEnding.length} ending ${view.secretsEnding.join(', ')})` : ''}`);
      }
      return 0;
    });
  },
};
