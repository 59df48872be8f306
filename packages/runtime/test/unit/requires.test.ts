/**
 * requires(): the one place a test says what it needs from the machine. A missing program or
 * feature is a skip reason that names it; everything present is false (the test runs).
 */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { findProgram, requires } from '../../src/testing/index.js';

test('a program that is not installed is a reason naming it; one that is, is no reason', () => {
  const missing = 'shadow-no-such-program-7f3a';
  assert.equal(requires(missing), `\`${missing}\` is not installed (not on PATH)`);
  assert.equal(requires('/nonexistent/shadow-tool'), '/nonexistent/shadow-tool is not installed');
  assert.equal(requires('node'), false, 'node runs this test, so it is on PATH');
  assert.equal(requires(process.execPath), false, 'an absolute path to an executable');
  assert.equal(requires(), false, 'nothing needed, nothing missing');
});

test('every missing need is named once, in order, joined by semicolons', () => {
  assert.equal(requires('shadow-missing-a', 'node', 'shadow-missing-b', 'shadow-missing-a'),
    '`shadow-missing-a` is not installed (not on PATH); `shadow-missing-b` is not installed (not on PATH)');
});

test('a program is found on PATH only where it is executable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shadow-requires-'));
  const saved = process.env.PATH;
  try {
    const tool = join(dir, 'shadow-fake-tool');
    writeFileSync(tool, '#!/bin/sh\n');
    process.env.PATH = `${dir}${delimiter}${saved ?? ''}`;
    chmodSync(tool, 0o644);
    assert.match(requires('shadow-fake-tool') || '', /shadow-fake-tool/, 'a file that is not executable is not a program');
    chmodSync(tool, 0o755);
    assert.equal(requires('shadow-fake-tool'), false);
    assert.equal(findProgram('shadow-fake-tool'), tool);
  } finally {
    process.env.PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('features: root, tun, loop, fuse and netns say what is missing', () => {
  const root = requires('root');
  if (process.getuid?.() === 0) assert.equal(root, false);
  else assert.match(root || '', /^needs root \(running as uid \d+\)$/);
  for (const [need, path] of [['tun', '/dev/net/tun'], ['loop', '/dev/loop-control'], ['fuse', '/dev/fuse']] as const) {
    const reason = requires(need);
    assert.ok(reason === false || reason.startsWith(`no ${path} (`), `${need}: ${reason}`);
  }
  const netns = requires('netns');
  assert.ok(netns === false || /network namespaces/.test(netns), `netns: ${netns}`);
});
