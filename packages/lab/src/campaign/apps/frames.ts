/**
 * Network: two hosts exchanging sequence-numbered frames through the kernel's switch over two
 * `virtual` NICs; the fault hits the first port's driver mid-stream. Verified: no frame
 * duplicated or reordered, the last frames arrive, and every frame lost was sent inside the
 * fault's window (from injection to the end of its recovery).
 */
import { LearningSwitch } from 'shadow-drivers';
import { VirtualHost } from '../../harness/virtual-host.js';
import { VirtualNic } from 'shadow-drivers';
import type { CampaignApp } from './context.js';
import { until } from './dataset.js';

const A = '02:ca:00:00:00:0a';
const B = '02:ca:00:00:00:0b';

export const framesApp: CampaignApp = {
  name: 'frames', className: 'net', paperRow: 'network: frames through a switch (the paper\'s network rows)',
  async run({ rt, spec, inject, scale = 1, faultTimes }) {
    const nics = [await VirtualNic.create(), await VirtualNic.create()];
    let sw: LearningSwitch | undefined;
    try {
      const ports = [
        await rt.attachNet(spec('eth0', { className: 'net', driver: 'virtual', config: { socket: nics[0]!.socketPath } }, true)),
        await rt.attachNet(spec('eth1', { className: 'net', driver: 'virtual', config: { socket: nics[1]!.socketPath } })),
      ];
      const hostA = new VirtualHost(A, nics[0]!);
      const hostB = new VirtualHost(B, nics[1]!);
      sw = await LearningSwitch.start(ports);
      const sentAt: number[] = [];
      const timer = setInterval(() => { for (let i = 0; i < 4; i++) sentAt[hostA.send(B, 200)] = Date.now(); }, 5);
      await until(() => hostB.report(A).received >= 200, 5000);
      const injectedAt = Date.now();
      await inject();
      const recoveredAt: number[] = [];
      const onRecovery = () => recoveredAt.push(Date.now());
      rt.manager.on('recovery', onRecovery);
      await until(() => hostB.report(A).received >= 200 + 400 * scale || Date.now() - injectedAt > 3000 * scale, 10_000 * scale);
      clearInterval(timer);
      const last = hostA.send(B, 200);
      sentAt[last] = Date.now();
      await until(() => hostB.has(A, last), 3000);
      rt.manager.off('recovery', onRecovery);
      const r = hostB.report(A);
      // Each fault's window: from its injection to the end of the first recovery after it.
      const windows = (faultTimes?.length ? faultTimes : [injectedAt]).map((at) =>
        [at - 250, (recoveredAt.find((t) => t >= at) ?? Infinity) + 250] as const);
      const outside = r.lost.filter((seq) => !windows.some(([from, to]) => (sentAt[seq] ?? 0) >= from && (sentAt[seq] ?? 0) <= to));
      const verified = r.duplicates === 0 && r.reordered === 0 && hostB.has(A, last) && outside.length === 0;
      const errors = ports.reduce((n, p) => n + p.counters.droppedGone, 0);
      return {
        finished: true, errors, verified,
        detail: `${r.received} of ${hostA.sent} frames received, ${r.lost.length} lost (${outside.length} outside the fault's window), ` +
          `${r.duplicates} duplicated, ${r.reordered} reordered, last frame ${hostB.has(A, last) ? 'arrived' : 'lost'}`,
      };
    } finally {
      sw?.stop();
      await rt.close();
      for (const nic of nics) await nic.close();
    }
  },
};
