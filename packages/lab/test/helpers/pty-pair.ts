/**
 * A pty pair made by socat (two linked paths; what one end writes the other reads), started by
 * the test and stopped by it, and the far end's line settings read with `stty -F`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from 'shadow-drivers/testing';

export interface PtyPair {
  /** The end the shadowed port opens. */
  near: string;
  /** The end the far side (a peer program, the test) opens. */
  far: string;
  stop(): Promise<void>;
}

export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'shadow-pty-'));
  const near = join(dir, 'near');
  const far = join(dir, 'far');
  const socat: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${near}`, `pty,raw,echo=0,link=${far}`], { stdio: 'ignore' });
  await until(() => existsSync(near) && existsSync(far), 'socat made the pty pair', 5000);
  return {
    near, far,
    async stop() {
      if (socat.exitCode === null) {
        const gone = new Promise((resolve) => socat.once('exit', resolve));
        socat.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A peer on the far end: `socat <far> EXEC:cat`, an echo. */
export function echoPeer(far: string): { stop(): Promise<void> } {
  const peer = spawn('socat', [`${far},raw,echo=0`, 'EXEC:cat'], { stdio: 'ignore' });
  return {
    async stop() {
      if (peer.exitCode !== null) return;
      const gone = new Promise((resolve) => peer.once('exit', resolve));
      peer.kill('SIGTERM');
      await gone;
    },
  };
}

/** The tty's settings as the OS holds them: `stty -F path -a`. */
export function stty(path: string): string {
  const r = spawnSync('stty', ['-F', path, '-a'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stty -F ${path}: ${r.stderr}`);
  return r.stdout;
}
