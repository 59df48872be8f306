/**
 * The configurations the paper compares, on this runtime:
 *   (a) the driver in-process (domain `none`, no recovery): the paper's Linux-Native;
 *   (b) the driver isolated, restart-only recovery: Linux-Nooks;
 *   (c) the driver isolated, with a shadow: Linux-SD;
 * (b) and (c) for both isolation domains, worker thread and child process. One more, (s), runs
 * the shadow with no isolation at all: (s)/(a) is the shadow's own bookkeeping cost, free of
 * the noise of crossing a domain.
 */
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainKind } from 'shadow-drivers';
import type { BlockDevice } from 'shadow-drivers';
import type { RecoveryMode } from 'shadow-drivers';
import type { Runtime } from 'shadow-drivers';

export type ConfigurationId = 'a' | 's' | 'b-worker' | 'c-worker' | 'b-process' | 'c-process';

export interface Configuration {
  id: ConfigurationId;
  domain: DomainKind;
  recovery: RecoveryMode;
  label: string;
}

export const configurations: readonly Configuration[] = [
  { id: 'a', domain: 'none', recovery: 'native', label: '(a) in-process' },
  { id: 's', domain: 'none', recovery: 'shadow', label: '(s) in-process + shadow' },
  { id: 'b-worker', domain: 'worker', recovery: 'restart', label: '(b) worker, restart-only' },
  { id: 'c-worker', domain: 'worker', recovery: 'shadow', label: '(c) worker + shadow' },
  { id: 'b-process', domain: 'process', recovery: 'restart', label: '(b) process, restart-only' },
  { id: 'c-process', domain: 'process', recovery: 'shadow', label: '(c) process + shadow' },
];

/** The restart policy of every benchmark device: never backs off, never gives up. */
export const benchRestartPolicy = { intensity: 1000, periodMs: 1000, stableAfterMs: 0 };

export type MediumKind = 'ram' | 'file';

/** A disk per configuration, all on the same kind of medium. */
export interface DiskSet {
  medium: MediumKind;
  sizeBytes: number;
  disks: Map<ConfigurationId, BlockDevice>;
}

/**
 * Attaches and opens one disk per configuration, all on the same kind of medium: device
 * memory (`ram`) or one shared image (`file`), so every configuration reads the same pages of
 * the page cache. Device memory is filled through the disk; the image is filled when created.
 */
export async function attachDisks(runtime: Runtime, medium: MediumKind, sizeBytes: number,
  image?: string): Promise<DiskSet> {
  const disks = new Map<ConfigurationId, BlockDevice>();
  for (const c of configurations) {
    const disk = await runtime.attachBlock({
      name: `bench-${medium}-${c.id}`, driver: medium, domain: c.domain, recovery: c.recovery,
      config: medium === 'ram' ? { sizeBytes } : { path: image }, restart: benchRestartPolicy,
    });
    await disk.open();
    if (medium === 'ram') await fill(disk, sizeBytes);
    disks.set(c.id, disk);
  }
  return { medium, sizeBytes, disks };
}

/**
 * Writes the whole disk once, so no measured request is the first to touch a page of device
 * memory (a first touch costs a page fault and zeroing, and would favour whichever
 * configuration ran later).
 */
export async function fill(disk: BlockDevice, sizeBytes: number): Promise<void> {
  const chunk = pattern(1 << 20);
  for (let at = 0; at < sizeBytes; at += chunk.length) {
    await disk.write(at, chunk.subarray(0, Math.min(chunk.length, sizeBytes - at)));
  }
}

function pattern(length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (i * 13 + 1) & 0xff);
}

/**
 * A disk image in a fresh directory of os.tmpdir(); `remove` deletes both. It is filled
 * first: reads of a sparse hole would not touch real pages.
 */
export function createImage(sizeBytes: number): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `shadow-bench-${process.pid}-`));
  const path = join(dir, 'disk.img');
  const fd = openSync(path, 'w');
  try {
    const chunk = pattern(1 << 20);
    for (let at = 0; at < sizeBytes; at += chunk.length) {
      writeSync(fd, chunk, 0, Math.min(chunk.length, sizeBytes - at), at);
    }
  } finally {
    closeSync(fd);
  }
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
