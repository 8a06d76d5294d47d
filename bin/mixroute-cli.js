#!/usr/bin/env node
// Entry point of the `mixroute` command: runs bin/cli/main.ts through tsx (no build step needed).
'use strict';
require('tsx/cjs');
require('./cli/main.ts').run();
