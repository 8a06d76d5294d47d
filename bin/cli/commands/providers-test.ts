/** `mixroute providers test`. */
import { testProvider } from '../../../lambda/admin/providers';
import type { Command } from '../command';
import { requireProviderName } from './args';

export const providersTest: Command = {
  name: 'providers test',
  summary: 'prove a provider works with one cheap call through the relay',
  synopsis: 'NAME [--model MODEL]',
  description: 'Proves the provider works: one one-token request through the relay (the only component allowed\nto decrypt its key) with a throw-away client key that is revoked right after.',
  options: { model: { type: 'string' } },
  target: true,
  positionals: 1,
  examples: ['npx mixroute providers test openai', 'npx mixroute providers test anthropic --model claude-sonnet-5-5 --stack Mixroute'],
  async run({ values, positionals, io, withTarget }) {
    const name = requireProviderName(positionals, 'providers test');
    return withTarget('testing a provider key', async (target) => {
      io.progress(`sending one request through the relay at ${target.relayUrl}`, values.json === true);
      const result = await testProvider(target.stores.keys, target.routes, target.relayUrl, name, { model: values.model as string | undefined });
      if (values.json) io.print(JSON.stringify(result));
      else if (result.ok) io.print(`OK: provider "${name}" answered through the relay (model ${result.model}, HTTP ${result.status}, ${result.latencyMs} ms).`);
      else {
        const hint = result.code === 'upstream_auth_failed' ? ': the provider rejected the stored key; set a new one with `mixroute providers set-key`' : '';
        io.print(`FAILED: provider "${name}" (model ${result.model}): HTTP ${result.status}${result.code ? ` ${result.code}` : ''}${hint}.`);
      }
      return result.ok ? 0 : 1;
    });
  },
};
