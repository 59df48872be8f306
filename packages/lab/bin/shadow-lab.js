#!/usr/bin/env node
// The `shadow-lab` command: the demo, the bench and the campaign. The lab is TypeScript compiled
// to dist/ (`npm install` at the repository's root builds it).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/src/cli/shadow-lab.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('shadow-lab: dist/ is missing; run `npm install` (or `npm run build`) at the repository root first');
  process.exit(2);
}
await import(entry.href);
