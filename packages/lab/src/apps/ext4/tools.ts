/**
 * The e2fsprogs programs the userspace ext4 uses from the host: found on PATH or in the sbin
 * directories (which a non-root PATH often leaves out), run with a deadline, never through a
 * shell.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const SBIN = ['/sbin', '/usr/sbin', '/usr/local/sbin'];

/** The path of an executable `name`, or undefined when it is not installed. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch { /* not here */ }
  }
  return undefined;
}

export interface ToolRun {
  exitCode: number;
  /** stdout and stderr, in that order, trimmed. */
  output: string;
}

/** Runs `path` with `args`; resolves with its exit code whatever it is (a signal counts as 128+). */
export function runTool(path: string, args: string[], timeoutMs = 120_000): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (!error) return resolve({ exitCode: 0, output });
      const e = error as NodeJS.ErrnoException & { code?: number | string; signal?: string | null; killed?: boolean };
      if (typeof e.code === 'number') return resolve({ exitCode: e.code, output });
      if (e.signal) return resolve({ exitCode: 128, output: `${output}\nkilled by ${e.signal}${e.killed ? ' (deadline)' : ''}`.trim() });
      reject(error);
    });
  });
}
