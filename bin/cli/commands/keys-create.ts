/** `mixroute keys create`. */
import { createClientKey } from '../../../lambda/admin/keys';
import type { KeyLimits } from '../../../lambda/core/ports';
import { UsageError, type Command } from '../command';
import { expiryFrom, keyView, LIMIT_OPTIONS, modelList, positiveInt } from './args';

export const keysCreate: Command = {
  name: 'keys create',
  summary: 'create a client key (shown once, stored only as a hash)',
  synopsis: '--name NAME [--models a,b] [--expires 30d|ISO-8601]\n                            [--rpm N] [--tokens-per-day N] [--tokens-per-month N] [--max-concurrency N]',
  description: 'Creates a client key. The secret is printed once and stored nowhere: only its SHA-256 and the key\nid are kept. --json prints {"id","key","name",...}. Limits hold across all relay instances:\ntoken quotas reserve each request\'s worst case before it is forwarded, and --max-concurrency caps\nthe key\'s requests open at once.',
  options: { name: { type: 'string' }, models: { type: 'string' }, expires: { type: 'string' }, ...LIMIT_OPTIONS },
  target: true,
  examples: [
    'npx mixroute keys create --name alice',
    'npx mixroute keys create --name ci --models fast --expires 30d --rpm 60 --tokens-per-day 200000 --json',
    'npx mixroute keys create --name team-a --stack Mixroute --region eu-west-1',
  ],
  async run({ values, io, withTarget }) {
    if (!values.name) throw new UsageError('--name is required');
    const limits: KeyLimits = {
      requestsPerMinute: positiveInt('--rpm', values.rpm),
      tokensPerDay: positiveInt('--tokens-per-day', values['tokens-per-day']),
      tokensPerMonth: positiveInt('--tokens-per-month', values['tokens-per-month']),
      maxConcurrency: positiveInt('--max-concurrency', values['max-concurrency']),
    };
    const input = { name: values.name as string, models: modelList(values.models), expiresAt: expiryFrom(values.expires), limits };
    return withTarget('creating a key', async (target) => {
      const { key, secret } = await createClientKey(target.stores.keys, input);
      if (values.json) io.print(JSON.stringify({ ...keyView(key), key: secret }));
      else {
        io.print(`Created key ${key.id} (${key.name}) on ${target.description}. This is the only time the secret is shown; store it now:`);
        io.print(`  ${secret}`);
      }
      return 0;
    });
  },
};
