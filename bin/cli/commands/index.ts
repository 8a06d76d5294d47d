/** Every command, in the order `mixroute --help` lists them. A new command is its module plus one line here. */
import type { Command } from '../command';
import { dev } from './dev';
import { keysCreate } from './keys-create';
import { keysList } from './keys-list';
import { keysRevoke } from './keys-revoke';
import { keysRotate } from './keys-rotate';
import { keysShow } from './keys-show';
import { keysUpdate } from './keys-update';
import { providersList } from './providers-list';
import { providersRemove } from './providers-remove';
import { providersSetKey } from './providers-set-key';
import { providersTest } from './providers-test';
import { usage } from './usage';

export const COMMANDS: readonly Command[] = [
  dev,
  keysCreate,
  keysList,
  keysShow,
  keysRotate,
  keysRevoke,
  keysUpdate,
  providersSetKey,
  providersList,
  providersRemove,
  providersTest,
  usage,
];
