#!/usr/bin/env node
// Thin launcher: all logic lives in dist/cli (built from src/cli by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('pgrunbook: dist/ is missing. Run `npm ci` (or `npm run build`) in the pgrunbook checkout first.\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv);
