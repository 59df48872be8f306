/**
 * The paper's network analyzer row: the switch mirrors every frame between hosts A and B into
 * a monitor port whose (promiscuous) `virtual` driver feeds a pcap capture; an echo session at
 * 50 Hz runs between the hosts; the fault hits the monitor port's driver after the first 20
 * echoes. Verified: the port is still promiscuous and up; tshark reads every frame of the file
 * (as many as the monitor hardware got); every frame handed to the port outside the fault's
 * windows was captured, in order; and tshark decodes the session's TCP payloads, in both
 * directions, as the message stream at their sequence numbers.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TransmitOutcome } from 'shadow-drivers';
import { readPcap } from '../../harness/pcap-writer.js';
import type { CampaignApp } from './context.js';
import { FaultWindows } from './fault-windows.js';
import { run } from './kernel-ext4.js';
import { withSwitchedHosts, type Monitor } from './net-hosts.js';

const ECHO_CLIENT = fileURLToPath(new URL('../../apps/net/echo-client.js', import.meta.url));
/** Frames handed to the port this long around a fault's window may be lost with it. */
const SLACK_MS = 250;

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const message = (n: number) => `msg ${n} ${'.'.repeat(24)}\n`;

/** The echo client's byte stream from `offset`, `length` bytes. */
function stream(offset: number, length: number): string {
  let n = 0;
  let at = 0;
  while (at + message(n).length <= offset) { at += message(n).length; n++; }
  let out = message(n).slice(offset - at);
  while (out.length < length) out += message(++n);
  return out.slice(0, length);
}

export const analyzerApp: CampaignApp = {
  name: 'analyzer', className: 'net', realTools: true, paperRow: 'network: analyzer (tshark on the switch\'s monitor port)',
  async run(context) {
    const ledger: { frame: Uint8Array; outcome: TransmitOutcome; at: number }[] = [];
    const watch = (m: Monitor) => { m.port.onOutcome((frames, outcome) => { for (const frame of frames) ledger.push({ frame, outcome, at: Date.now() }); }); };
    return withSwitchedHosts(context, { monitor: watch, tools: ['socat', 'tshark'] }, async ({ hosts: [a, b], sw, monitor }) => {
      const mon = monitor!;
      const server = b.start('socat', ['-d', '-d', `TCP-LISTEN:7001,bind=${b.address},reuseaddr`, 'PIPE']);
      if (!await server.until(() => /listening on/.test(server.stderr()))) throw new Error(`socat did not listen: ${server.stderr()}`);
      const client = a.start(process.execPath, [ECHO_CLIENT, b.address, '7001', '50']);
      const echoed = () => client.stdout().split('\n').filter((l) => l.startsWith('{"seq"')).length;
      if (!await client.until(() => echoed() >= 20)) throw new Error(`the session did not start: ${client.stderr()}`);
      const windows = new FaultWindows(context);
      await context.inject();
      const settled = echoed();
      await client.until(() => echoed() >= settled + 50 * (context.scale ?? 1), 10_000 * (context.scale ?? 1));
      client.child.stdin!.end('stop\n');
      const exitDeadline = setTimeout(() => void client.kill(), 10_000);
      const code = await client.exited;
      clearTimeout(exitDeadline);

      const link = await mon.port.linkState();
      // Stop switching and let the queue drain; a marker down the same path tells when the
      // capture has everything the driver put on the wire before it.
      sw.stop();
      await mon.port.drained();
      const marker = Uint8Array.from([...Array(7).fill(0x02), 0, 0, 0, 0, 0x99, 0x88, 0xb5, ...Buffer.from('end of capture')]);
      let captured = false;
      const off = mon.capture.onFrame((frame) => { if (sameBytes(frame, marker)) captured = true; });
      mon.port.send(marker);
      await mon.port.drained();
      const end = Date.now() + 5000;
      while (!captured && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      off();
      mon.capture.writer.flush();

      // The capture is the ledger in order, minus frames lost: none may be lost outside a window.
      const spans = windows.spans();
      const inWindow = (at: number) => spans.some(([from, to]) => at >= from - SLACK_MS && at <= to + SLACK_MS);
      const { records } = readPcap(readFileSync(mon.path));
      const queue = ledger.filter((e) => e.outcome !== 'droppedQueueFull');
      let j = 0;
      let lostOutside = 0;
      let unmatched = 0;
      for (const r of records) {
        let k = j;
        while (k < queue.length && !sameBytes(queue[k]!.frame, r.frame)) k++;
        if (k === queue.length) { unmatched++; continue; }
        for (; j < k; j++) if (!inWindow(queue[j]!.at)) lostOutside++;
        j++;
      }
      for (; j < queue.length; j++) if (!inWindow(queue[j]!.at)) lostOutside++;
      const count = (await run('tshark', ['-r', mon.path, '-T', 'fields', '-e', 'frame.number'])).stdout.trim().split('\n').filter(Boolean).length;
      const fields = (await run('tshark', ['-r', mon.path, '-Y', 'tcp.port == 7001 && tcp.len > 0', '-T', 'fields',
        '-e', 'tcp.srcport', '-e', 'tcp.seq', '-e', 'tcp.payload'])).stdout;
      const rows = fields.trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
      const decoded = rows.filter(([, seq, payload]) => {
        const text = Buffer.from(payload!.replace(/:/g, ''), 'hex').toString('latin1');
        return text === stream(Number(seq) - 1, text.length);
      }).length;
      const bothWays = rows.some((r) => r[0] === '7001') && rows.some((r) => r[0] !== '7001');
      const verified = code === 0 && link.promiscuous && link.up && captured && count === records.length && count === mon.nic.counters.sent
        && unmatched === 0 && lostOutside === 0 && decoded === rows.length && bothWays;
      return {
        finished: code === 0, errors: code === 0 ? 0 : 1, verified,
        detail: `monitor port ${link.promiscuous ? 'promiscuous' : 'NOT promiscuous'}, ${link.up ? 'up' : 'down'}; ${ledger.length} frames handed to it, ` +
          `${records.length} captured (tshark reads ${count}, the hardware got ${mon.nic.counters.sent}), ${lostOutside} lost outside the fault's windows` +
          `${unmatched ? `, ${unmatched} never handed over` : ''}; tshark decoded ${decoded} of ${rows.length} session segments${bothWays ? ' both ways' : ''}` +
          `${captured ? '' : '; the end marker never arrived'}${code !== 0 ? `; the session's client exited ${code}` : ''}`,
      };
    });
  },
};
