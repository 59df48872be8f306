#!/usr/bin/env node
// The `shadowd` command. The runtime is TypeScript compiled to dist/ (npm install builds it).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/src/cli/shadowd.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('shadowd: dist/ is missing; run `npm install` (or `npm run build`) first');
  process.exit(2);
}
await import(entry.href);
