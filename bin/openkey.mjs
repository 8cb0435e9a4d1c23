#!/usr/bin/env node
// Runs the TypeScript CLI with no build step in a fresh clone: from a bundle made on first use and again whenever a
// source changed (bin/cli-bundle.mjs says why), or through tsx with OPENKEY_NO_BUNDLE=1.
import { loadMain } from './cli-bundle.mjs';

const main = await loadMain();
process.exitCode = await main(process.argv.slice(2));
