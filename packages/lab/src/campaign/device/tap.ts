/**
 * A device-level fault of the network: the peer behind a TAP goes silent. The campaign's two
 * hosts (src/campaign/apps/net-hosts.ts: namespaces with a TAP each, joined by the kernel's
 * learning switch, gone with the trial whatever becomes of it); a TCP echo session (socat)
 * sends numbered messages at 20 Hz from A to B while B's interface is taken down for a
 * second and brought back.
 */
import { withSwitchedHosts } from '../apps/net-hosts.js';
import type { AppReport } from '../types.js';
import { watchDriver, type DeviceScenario } from './scenario.js';

const SILENT_MS = 1000;
const HZ = 20;
const PORT = 7007;

export const tapSilent: DeviceScenario = {
  name: 'tap-silent', className: 'net',
  fault: `the peer behind a TAP goes silent: its interface down for ${SILENT_MS} ms, then up`,
  expected: 'frames to the silent peer are dropped as a wire drops them: no driver failure, no recovery; TCP retransmits once the peer is back and every message of the session is echoed, in order',
  async run(context) {
    const { inject, scale = 1 } = context;
    const seen = [watchDriver(context, 'tap-a'), watchDriver(context, 'tap-b')];
    return withSwitchedHosts(context, { tools: ['socat'] }, async ({ hosts: [near, far], ports }): Promise<AppReport> => {
      const server = far.start('socat', ['-d', '-d', `TCP-LISTEN:${PORT},bind=${far.address},reuseaddr`, 'PIPE']);
      if (!await server.until(() => /listening on/.test(server.stderr()))) throw new Error(`socat did not listen: ${server.stderr()}`);
      const client = near.start('socat', ['-', `TCP:${far.address}:${PORT}`]);
      const total = Math.round(HZ * 3 * scale);
      let n = 0;
      const echoed = () => client.stdout().split('\n').length - 1;
      const ticker = setInterval(() => { if (n < total) client.child.stdin!.write(`msg ${n++}\n`); }, 1000 / HZ);
      let longestMs = 0;
      let last = performance.now();
      let count = 0;
      const watch = setInterval(() => {
        const now = performance.now();
        if (echoed() > count) { count = echoed(); longestMs = Math.max(longestMs, now - last); last = now; }
      }, 5);
      try {
        await client.until(() => echoed() >= HZ);
        await inject();
        await far.exec('ip', ['link', 'set', far.ifname, 'down']);
        await new Promise((r) => setTimeout(r, SILENT_MS));
        await far.exec('ip', ['link', 'set', far.ifname, 'up']);
        await client.until(() => echoed() >= total, 20_000 * scale);
      } finally {
        clearInterval(ticker);
        clearInterval(watch);
      }
      const lines = client.stdout().split('\n').slice(0, -1);
      const disorder = lines.findIndex((line, i) => line !== `msg ${i}`);
      const dropped = ports.reduce((s, p) => s + p.counters.droppedByDriver + p.counters.droppedQueueFull, 0);
      const failures = seen.reduce((s, w) => s + w.failures, 0);
      const recoveries = seen.reduce((s, w) => s + w.recoveries, 0);
      const complete = lines.length === total && disorder < 0;
      return {
        finished: complete, errors: complete ? 0 : 1, verified: complete && failures === 0,
        detail: `peer silent for ${SILENT_MS} ms; ${lines.length} of ${total} messages echoed` +
          `${disorder >= 0 ? ` (echo ${disorder} was ${JSON.stringify(lines[disorder])})` : ' in order'}, ` +
          `longest wait for an echo ${Math.round(longestMs)} ms; frames the NICs dropped ${dropped}; driver failures ${failures}, recoveries ${recoveries}`,
        driverFailures: failures,
      };
    });
  },
};
