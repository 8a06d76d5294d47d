/** `mixroute keys rotate`. */
import { rotateClientKey } from '../../../lambda/admin/keys';
import { parseDuration } from '../../../lambda/admin/durations';
import { UsageError, type Command } from '../command';
import { keyView, requireId } from './args';

export const keysRotate: Command = {
  name: 'keys rotate',
  summary: 'issue a new secret; the old one works until the grace period ends',
  synopsis: 'ID [--grace 24h]',
  description:
    'Issues a new secret for the key (printed once). The new secret works at once; the old one keeps\nworking until the grace period ends (default 24h), so clients can switch without downtime. With\n--grace 0s the old secret ends now in the store; relay instances refuse it for new requests within\nthe key-cache TTL (30 s at most) and end its open streams within streamKeyRecheckMs (30 s at most).\nThe key id, its settings and its usage history stay the same.',
  options: { grace: { type: 'string', default: '24h' } },
  target: true,
  positionals: 1,
  examples: ['npx mixroute keys rotate key_AbC123', 'npx mixroute keys rotate key_AbC123 --grace 1h --stack Mixroute --json'],
  async run({ values, positionals, io, withTarget }) {
    const id = requireId(positionals, 'keys rotate');
    const graceMs = parseDuration(values.grace as string);
    if (graceMs === undefined) throw new UsageError(`--grace: expected a duration such as 24h, 30m or 0s, got "${values.grace}"`);
    return withTarget('rotating a key', async (target) => {
      const { key, secret, previousSecretsEndAt } = await rotateClientKey(target.stores.keys, id, graceMs);
      if (values.json) io.print(JSON.stringify({ ...keyView(key), key: secret, previousSecretsEndAt }));
      else {
        io.print(`Rotated key ${key.id} (${key.name}). The new secret works now and is shown only this once:`);
        io.print(`  ${secret}`);
        io.print(
          graceMs === 0
            ? 'The previous secret has ended; relay instances refuse it within 30 seconds (their key cache), open streams included.'
            : `The previous secret keeps working until ${previousSecretsEndAt}.`,
        );
      }
      return 0;
    });
  },
};
