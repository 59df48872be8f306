#!/usr/bin/env node
// Usage: node scripts/evaluation-combine.mjs docs/evaluation-2026-11-27.json combined.jsonl docs/evaluation-fail-stop.jsonl docs/evaluation-fail-stop-frames.jsonl docs/evaluation-serial.jsonl
// The combined results the report is rendered from: the 2026-11-27 run's trials minus its
// fail-stop trials of the rows rerun (the paper's ten and frames), then the reruns' trials (and
// the serial rows', which that run did not have).
import { readFileSync, writeFileSync } from 'node:fs';
const [oldJson, out, ...reruns] = process.argv.slice(2);
const rerun = new Set(['compiler', 'encoder', 'database', 'mp3-player', 'recorder', 'speech', 'game-sfx', 'file-transfer', 'remote-session', 'analyzer', 'frames',
  'serial-modbus', 'serial-nmea', 'serial-session']);
const old = JSON.parse(readFileSync(oldJson, 'utf8')).results.filter((r) => !(r.spec.fault.type === 'fail-stop' && rerun.has(r.spec.app)));
const fresh = reruns.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)))
  .filter((r) => r.spec.fault.type === 'fail-stop' && rerun.has(r.spec.app));
writeFileSync(out, [...old, ...fresh].map((r) => JSON.stringify(r)).join('\n') + '\n');
console.log(`${old.length} trials of ${oldJson} and ${fresh.length} rerun in ${out}`);
