/**
 * The demo's filesystem: the userspace ext4 (src/apps/ext4) on its own disk. The disk is
 * formatted by the real mke2fs (on a temporary image copied onto the disk through its driver),
 * then rounds of files are written until stopped; then the filesystem is mounted afresh and
 * every file read back and compared, it is unmounted, and the whole disk, read through the
 * shadowed device, goes to `e2fsck -fn` when e2fsprogs' e2fsck is installed.
 */
import { fsckThroughDevice } from '../../apps/ext4/image-check.js';
import { formatExt4 } from '../../apps/ext4/mkfs.js';
import { findTool } from '../../apps/ext4/tools.js';
import { Ext4Workload } from '../../apps/ext4/workload.js';
import type { BlockDevice } from 'shadow-drivers';
import type { AppOutcome, DemoApp } from './app.js';

const MiB = 1024 * 1024;

export class Ext4App implements DemoApp {
  readonly title = 'ext4';
  readonly #seed: number;
  #disk: BlockDevice | undefined;
  #workload: Ext4Workload | undefined;
  #running = false;
  #task: Promise<void> | undefined;
  #failure: string | undefined;
  #formatted = false;

  /** Why the application cannot run here (mke2fs missing), or undefined. */
  static unavailable(): string | undefined {
    return findTool('mke2fs') ? undefined : 'mke2fs (e2fsprogs) is not installed';
  }

  constructor(seed: number) {
    this.#seed = seed;
  }

  async start(disk: BlockDevice): Promise<void> {
    this.#disk = disk;
    this.#workload = new Ext4Workload(disk, { seed: this.#seed, directories: 3, filesPerDirectory: 4, maxFileBytes: MiB + 3 });
    this.#running = true;
    this.#task = this.#run(disk, this.#workload);
  }

  async #run(disk: BlockDevice, workload: Ext4Workload): Promise<void> {
    // What fails here (the device under mke2fs's image, the mount) is reported, not thrown.
    try {
      await formatExt4(disk, { label: 'shadowd-demo' });
      this.#formatted = true;
      await workload.write(() => this.#running);
    } catch (error) {
      this.#failure = (error as Error).message;
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#task;
  }

  async finish(): Promise<AppOutcome> {
    const workload = this.#workload;
    if (!workload || !this.#disk) throw new Error('the filesystem application was never started');
    if (this.#failure) return { errors: 1, summary: this.#formatted ? 'could not mount' : 'not formatted', checks: [], problems: [this.#failure] };
    await workload.verify();
    const s = workload.stats;
    const expected = workload.liveRounds.reduce((n, r) => n + r.files.length, 0);
    const fsck = await fsckThroughDevice(this.#disk);
    const counts = fsck.output.split('\n').find((line) => / files \(/.test(line))?.replace(/^[^:]*: /, '');
    return {
      errors: s.errors,
      problems: s.problems,
      summary: `${s.filesWritten} files / ${mib(s.bytesWritten)} written in ${plural(s.roundsWritten, 'round')} (${s.roundsDeleted} deleted again), `
        + `${s.filesVerified} files / ${mib(s.bytesVerified)} read back`,
      checks: [
        {
          name: 'files', status: s.mismatches === 0 && s.errors === 0 && s.filesVerified === expected ? 'ok' : 'failed',
          detail: `${s.filesVerified}/${expected} files identical, ${s.mismatches} differ`,
        },
        {
          name: 'e2fsck -fn', status: fsck.status === 'clean' ? 'ok' : fsck.status === 'skipped' ? 'skipped' : 'failed',
          detail: fsck.status === 'skipped' ? fsck.output
            : `exit ${fsck.exitCode}${counts ? `, ${counts}` : ''}${fsck.status === 'errors' ? `\n${fsck.output}` : ''}`,
        },
      ],
    };
  }

  progress(): string {
    return this.#formatted ? `${this.#workload!.stats.filesWritten} files` : 'formatting';
  }
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
