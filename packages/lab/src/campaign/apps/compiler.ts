/**
 * The paper's compiler row: a generated C project built with gcc and make -j2 on a kernel
 * ext4 over the shadowed disk; the fault is injected when half the objects are built, as the
 * second half starts. Verified against a fault-free build in a plain directory: the program's
 * output and every object file's bytes, then a clean `e2fsck -fn`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CampaignApp } from './context.js';
import { onKernelExt4, run } from './kernel-ext4.js';

const MiB = 1024 * 1024;
const FIRST = 4;

async function writeProject(dir: string, units: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const decls: string[] = [];
  const calls: string[] = [];
  for (let u = 0; u < units; u++) {
    const body = ['#include "units.h"', ''];
    for (let f = 0; f < 3; f++) {
      const name = `u${u}_f${f}`;
      decls.push(`unsigned long ${name}(unsigned long x);`);
      calls.push(`  acc = ${name}(acc ^ ${u * 3 + f}UL); printf("%s %lu\\n", "${name}", acc);`);
      body.push(`unsigned long ${name}(unsigned long x) {`,
        `  unsigned long h = ${(u * 2654435761 + f * 40503) >>> 0}UL ^ x;`,
        `  for (int i = 0; i < ${50 + u + f}; i++) { h ^= h << ${(u + f) % 7 + 5}; h ^= h >> ${(u * 3 + f) % 5 + 7}; h += (unsigned long)i * ${f + 3}UL; }`,
        '  return h;', '}', '');
    }
    await writeFile(join(dir, `u${u}.c`), body.join('\n'));
  }
  await writeFile(join(dir, 'units.h'), ['#ifndef UNITS_H', '#define UNITS_H', ...decls, '#endif', ''].join('\n'));
  await writeFile(join(dir, 'main.c'), ['#include <stdio.h>', '#include "units.h"', 'int main(void) {',
    '  unsigned long acc = 1;', ...calls, '  return 0;', '}', ''].join('\n'));
  const objects = ['main.o', ...Array.from({ length: units }, (_, u) => `u${u}.o`)];
  await writeFile(join(dir, 'Makefile'), ['CFLAGS = -O2 -Wall -Werror', `OBJS = ${objects.join(' ')}`,
    'prog: $(OBJS)', '\t$(CC) -o $@ $(OBJS)', '%.o: %.c units.h', '\t$(CC) $(CFLAGS) -c $< -o $@', ''].join('\n'));
  return objects;
}

/** `name  hash` lines of the objects, as sha256sum prints them. */
const hashes = async (dir: string) => (await Promise.all((await readdir(dir)).filter((n) => n.endsWith('.o')).sort()
  .map(async (n) => `${createHash('sha256').update(await readFile(join(dir, n))).digest('hex')}  ${n}`))).join('\n');

export const compilerApp: CampaignApp = {
  name: 'compiler', className: 'block', realTools: true, paperRow: 'storage: compiler (gcc + make on ext4)',
  async run(context) {
    const units = FIRST + FIRST * (context.scale ?? 1);
    const source = join(tmpdir(), 'source');
    const reference = join(tmpdir(), 'reference');
    const objects = await writeProject(source, units);
    await run('cp', ['-r', source, reference]);
    await run('make', ['-s', '-j2', '-C', reference]);
    const expected = { output: (await run(join(reference, 'prog'), [])).stdout, objects: await hashes(reference) };
    return onKernelExt4(context, 'disk0', 32 * MiB, async (fs) => {
      const dir = join(fs.mountpoint, 'c');
      await fs.run('sh', ['-c', `cp -r ${source} ${dir} && sync -f ${dir}`]);
      await fs.run('make', ['-s', '-j2', '-C', dir, ...objects.slice(0, FIRST)]);
      const second = fs.run('sh', ['-c', `make -s -j2 -C ${dir} && sync -f ${dir}`]);
      await context.inject();
      await second;
      const output = (await fs.run(join(dir, 'prog'), [], { cwd: dir })).stdout;
      const built = (await fs.run('sh', ['-c', `cd ${dir} && sha256sum ${objects.slice().sort().join(' ')}`])).stdout.trim();
      const sameOutput = output === expected.output;
      const sameObjects = built === expected.objects;
      return {
        errors: 0, verified: sameOutput && sameObjects,
        detail: `${objects.length} objects built, program output ${sameOutput ? 'as the fault-free build' : 'differs'}, ` +
          `objects ${sameObjects ? 'identical' : 'differ'}`,
      };
    });
  },
};
