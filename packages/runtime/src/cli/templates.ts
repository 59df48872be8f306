/**
 * What `shadowd new-driver` writes: a driver, its manifest and a test. The block driver is the
 * one docs/writing-drivers.md prints (the package test checks they are the same text).
 */
export interface TemplateFile {
  path: string;
  text: string;
}

const blockDriver = `import { readSync, writeSync } from 'node:fs';
import { BlockCounters, defineBlockDriver, DeviceError } from 'shadow-drivers/driver/block';

const BLOCK = 4096;

export default defineBlockDriver((kernel) => {
  let fd = -1;
  let sizeBytes = 0;
  let readOnly = false;
  let opened = false;
  const counters = new BlockCounters();          // what stats() answers

  const mustBeOpen = () => {
    if (!opened) throw new DeviceError('ENODEV', 'the disk is not open');
  };
  const writeAll = (offset: number, data: Uint8Array) => {
    for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, offset + done);
  };

  return {
    async init() {
      const disk = await kernel.acquire('disk');   // the kernel opened it; we borrow it
      fd = disk.fd;
      sizeBytes = disk.sizeBytes - (disk.sizeBytes % BLOCK);
      readOnly = disk.readOnly;
      await kernel.register({ sizeBytes, blockSize: BLOCK, readOnly });
      kernel.log('info', \`my-disk: \${disk.path}, \${sizeBytes} bytes\`);
    },
    open() { opened = true; },
    close() { opened = false; },
    configure() {},                                 // every write is written through anyway
    read({ offset, length, into }) {
      mustBeOpen();
      for (let done = 0; done < length;) {
        const n = readSync(fd, into, done, length - done, offset + done);
        if (n === 0) { into.fill(0, done, length); break; }
        done += n;
      }
      counters.count('read', length);
      return into.subarray(0, length);
    },
    write({ offset, data }) {
      mustBeOpen();
      writeAll(offset, data);                       // in the kernel's file before we complete
      counters.count('write', data.length);
    },
    async flush() {
      mustBeOpen();
      await kernel.sync('disk');
      counters.count('flush');
    },
    discard({ offset, length }) {
      mustBeOpen();
      writeAll(offset, new Uint8Array(length));
      counters.count('discard');
    },
    geometry() { return { sizeBytes, blockSize: BLOCK, readOnly }; },
    stats() { return counters.stats(); },
  };
});
`;

const blockManifest = `import type { DriverManifest } from 'shadow-drivers';

/** What the kernel must know of the driver before it loads it: its code and its resources. */
export const manifest: DriverManifest = {
  class: 'block',
  name: 'my-disk',
  module: new URL('./driver.js', import.meta.url).href,
  description: 'a disk over an image file the kernel holds',
  resources: (config) => {
    if (typeof config.path !== 'string') throw new Error('the my-disk driver needs config.path (a disk image)');
    return [{ name: 'disk', path: config.path, readOnly: config.readOnly === true }];
  },
};
`;

const blockTest = `import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRuntime } from 'shadow-drivers';
import { manifest } from './manifest.js';

for (const domain of ['worker', 'process'] as const) {
  test(\`\${manifest.name} (\${domain}): data written before a driver failure reads back after recovery\`, async () => {
    const dir = mkdtempSync(join(tmpdir(), \`\${manifest.name}-test-\`));
    const image = join(dir, 'disk.img');
    writeFileSync(image, new Uint8Array(1 << 20));
    const runtime = createRuntime({ faultInjection: true });
    runtime.registerDriver(manifest);
    try {
      const disk = await runtime.attachBlock({ name: 'disk0', driver: manifest.name, domain, config: { path: image } });
      await disk.open();
      const data = new Uint8Array(8192).map((_, i) => i % 251);
      await disk.write(4096, data);
      const recovered = once(runtime.manager, 'recovery');
      runtime.inject('disk0', { kind: 'throw' });
      await recovered;
      assert.deepEqual(await disk.read(4096, 8192), data);
      await disk.flush();
    } finally {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
`;

/** The files of a new driver of a class, named `name`; undefined for a class with no template. */
export function templateFor(className: string, name: string): TemplateFile[] | undefined {
  if (className !== 'block') return undefined;
  const named = (text: string) => text.replaceAll('my-disk', name);
  return [
    { path: 'driver.ts', text: named(blockDriver) },
    { path: 'manifest.ts', text: named(blockManifest) },
    { path: 'driver.test.ts', text: named(blockTest) },
  ];
}
