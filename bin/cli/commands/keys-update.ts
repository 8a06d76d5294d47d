/** `mixroute keys update`. */
import { updateClientKey, type KeyChanges } from '../../../lambda/admin/keys';
import { type Command } from '../command';
import { table } from '../io';
import { expiryFrom, KEY_COLUMNS, keyRow, keyView, LIMIT_OPTIONS, limitChange, modelList, requireId } from './args';

export const keysUpdate: Command = {
  name: 'keys update',
  summary: 'change a key\'s name, expiry, models or limits',
  synopsis: 'ID [--name NAME] [--expires 30d|ISO-8601|never] [--models a,b|all]\n                            [--rpm N|none] [--tokens-per-day N|none] [--tokens-per-month N|none]\n                            [--max-concurrency N|none]',
  description: "Changes a key's settings; the relay applies them within its key-cache TTL.",
  options: { name: { type: 'string' }, models: { type: 'string' }, expires: { type: 'string' }, ...LIMIT_OPTIONS },
  target: true,
  positionals: 1,
  examples: ['npx mixroute keys update key_AbC123 --models fast,gpt-4o-mini --rpm 120', 'npx mixroute keys update key_AbC123 --expires never --tokens-per-month none'],
  async run({ values, positionals, io, withTarget }) {
    const id = requireId(positionals, 'keys update');
    const changes: { -readonly [K in keyof KeyChanges]: KeyChanges[K] } = {};
    if (typeof values.name === 'string') changes.name = values.name;
    if (values.expires === 'never') changes.expiresAt = null;
    else if (values.expires !== undefined) changes.expiresAt = expiryFrom(values.expires);
    if (values.models === 'all') changes.models = null;
    else if (values.models !== undefined) changes.models = modelList(values.models);
    const limits = {
      requestsPerMinute: limitChange('--rpm', values.rpm),
      tokensPerDay: limitChange('--tokens-per-day', values['tokens-per-day']),
      tokensPerMonth: limitChange('--tokens-per-month', values['tokens-per-month']),
      maxConcurrency: limitChange('--max-concurrency', values['max-concurrency']),
    };
    if (Object.values(limits).some((v) => v !== undefined)) changes.limits = limits;
    return withTarget('updating a key', async (target) => {
      const key = await updateClientKey(target.stores.keys, id, changes);
      if (values.json) io.printJson(keyView(key));
      else {
        io.print(`Updated key ${key.id}; the relay applies the change within 30 seconds.`);
        table(io, [keyRow(key)], KEY_COLUMNS);
      }
      return 0;
    });
  },
};
