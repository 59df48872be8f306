/**
 * A device-level fault of the network: the peer behind a TAP goes silent. Two namespaces, each
 * with a TAP the kernel holds, joined by the kernel's learning switch; a TCP echo session (socat)
 * sends numbered messages at 20 Hz from one to the other while the far interface is taken down
 * for a second and brought back. Its names end in the trial's pid, so a trial killed on a hang
 * leaves nothing its parent cannot find and remove (src/campaign/trial.ts).
 */
import type { NetDevice } from '../../kernel/net-device.js';
import { createNamespace, names, namespacesMissing, placeTap, removeNamespace, sh, type Host } from '../../net/netns.js';
import { startIn, stopAll, toolMissing } from '../../net/ns-process.js';
import { LearningSwitch } from '../../net/switch.js';
import type { AppContext } from '../apps/context.js';
import { until } from '../apps/dataset.js';
import type { AppReport } from '../types.js';
import { watchDriver, type DeviceScenario } from './scenario.js';

const SILENT_MS = 1000;
const HZ = 20;
const PORT = 7007;

async function echoSession(context: AppContext): Promise<AppReport> {
  const { rt, spec, inject, scale = 1 } = context;
  const missing = namespacesMissing() ?? toolMissing(['socat']);
  if (missing) return { finished: false, errors: 1, verified: false, detail: `cannot run: ${missing}` };
  const tags = ['sa', 'sb'];
  let sw: LearningSwitch | undefined;
  try {
    const ports: NetDevice[] = [];
    const hosts: Host[] = [];
    for (const [i, tag] of tags.entries()) {
      const { ns, ifname } = names(tag);
      await createNamespace(ns);
      ports.push(await rt.attachNet(spec(`tap-${tag}`, { className: 'net', driver: 'tap', config: { ifname } }, i === 1)));
      hosts.push(await placeTap(ns, ifname, `198.51.100.${i + 1}/24`));
    }
    const seen = watchDriver(context, 'tap-sb');
    sw = await LearningSwitch.start(ports);
    const [near, far] = hosts as [Host, Host];
    const server = startIn(far.ns, 'socat', ['-d', '-d', `TCP-LISTEN:${PORT},reuseaddr`, 'PIPE'], 'socat server');
    await server.waitFor(/listening on/);
    const client = startIn(near.ns, 'socat', ['-', `TCP:${far.address}:${PORT}`], 'socat client');
    const sentAt: number[] = [];
    let echoed = 0;
    let disorder = '';
    let longestMs = 0;
    let lastEcho = performance.now();
    client.child.stdout!.on('data', () => {
      const lines = client.stdout().split('\n').slice(0, -1);
      for (; echoed < lines.length; echoed++) {
        if (lines[echoed] !== `msg ${echoed}`) { disorder ||= `echo ${echoed} was ${JSON.stringify(lines[echoed])}`; }
        const now = performance.now();
        longestMs = Math.max(longestMs, now - lastEcho);
        lastEcho = now;
      }
    });
    const total = Math.round(HZ * 3 * scale);
    const send = (n: number) => { sentAt[n] = performance.now(); client.child.stdin!.write(`msg ${n}\n`); };
    let n = 0;
    const ticker = setInterval(() => { if (n < total) send(n++); }, 1000 / HZ);
    try {
      await until(() => echoed >= HZ || client.exit !== undefined, 10_000);
      await inject();
      await sh('ip', ['-n', far.ns, 'link', 'set', far.ifname, 'down']);
      await new Promise((r) => setTimeout(r, SILENT_MS));
      await sh('ip', ['-n', far.ns, 'link', 'set', far.ifname, 'up']);
      await until(() => echoed >= total || client.exit !== undefined || disorder !== '', 20_000 * scale);
    } finally {
      clearInterval(ticker);
    }
    const counters = ports.map((p) => p.counters);
    const dropped = counters.reduce((s, c) => s + c.droppedByDriver + c.droppedQueueFull, 0);
    await client.stop();
    await server.stop();
    const complete = echoed === total && !disorder;
    return {
      finished: complete, errors: complete ? 0 : 1, verified: complete && seen.failures === 0,
      detail: `peer silent for ${SILENT_MS} ms; ${echoed} of ${total} messages echoed${disorder ? ` (${disorder})` : ' in order'}, ` +
        `longest wait for an echo ${Math.round(longestMs)} ms; frames the NICs dropped ${dropped}; ` +
        `driver failures ${seen.failures}, recoveries ${seen.recoveries}` + (client.exit && !complete ? `; the session ended: ${client.stderr().slice(-200)}` : ''),
      driverFailures: seen.failures,
    };
  } finally {
    sw?.stop();
    await stopAll();
    await rt.close();
    for (const tag of tags) await removeNamespace(names(tag).ns);
  }
}

export const tapSilent: DeviceScenario = {
  name: 'tap-silent', className: 'net',
  fault: `the peer behind a TAP goes silent: its interface down for ${SILENT_MS} ms, then up`,
  expected: 'frames to the silent peer are dropped as a wire drops them: no driver failure, no recovery; TCP retransmits once the peer is back and every message of the session is echoed, in order',
  run: echoSession,
};
