/**
 * The userspace switch written in C that a user would otherwise run: Debian's `vde_switch`
 * (vde2) with two TAPs of its own (`-t`), moved into the two namespaces exactly as ours are.
 * It reads and writes one 1,514-byte frame per system call (no virtio-net header), so it is
 * the yardstick for what offloads buy. The switch process holds the TAPs: stopping it
 * removes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as pace } from 'node:timers/promises';
import { placeTap, sh, type Host } from '../harness/netns.js';

export interface VdeSwitch {
  hosts: Host[];
  stop(): Promise<void>;
}

async function linkExists(ifname: string): Promise<boolean> {
  return sh('ip', ['link', 'show', 'dev', ifname]).then(() => true, () => false);
}

/** Starts vde_switch on TAPs `ifnames` and places each in its namespace with its address. */
export async function startVdeSwitch(ifnames: string[], namespaces: string[], cidrs: string[]): Promise<VdeSwitch> {
  const dir = mkdtempSync(join(tmpdir(), 'shadow-vde-'));
  const child: ChildProcess = spawn('vde_switch', ['-s', join(dir, 'ctl'), ...ifnames.flatMap((n) => ['-t', n])],
    { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => { gone = true; });
  const stop = async (): Promise<void> => {
    if (!gone) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // vde_switch says nothing when its TAPs are up: wait for the interfaces, bounded.
    const deadline = performance.now() + 10_000;
    for (const ifname of ifnames) {
      while (!(await linkExists(ifname))) {
        if (gone) throw new Error(`vde_switch exited: ${stderr.slice(-500)}`);
        if (performance.now() > deadline) throw new Error(`vde_switch did not create ${ifname} within 10 s`);
        await pace(50);
      }
    }
    const hosts: Host[] = [];
    for (const [i, ifname] of ifnames.entries()) hosts.push(await placeTap(namespaces[i]!, ifname, cidrs[i]!));
    return { hosts, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
