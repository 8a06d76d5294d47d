/** Where Debian's Chromium is, if installed (CHROMIUM_PATH names another binary). */
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path): path is string => !!path && existsSync(path));
