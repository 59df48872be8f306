/**
 * The paper's remote window manager row: an interactive session, small numbered messages at
 * 20 Hz (keystrokes, pointer moves) from host A over one TCP connection to a socat echo server
 * in host B (src/apps/net/echo-client.ts); the fault hits A's driver after the first second.
 * Verified: the connection lives to the end and every message comes back, in order; the worst
 * round trip is reported.
 */
import { fileURLToPath } from 'node:url';
import type { CampaignApp } from './context.js';
import { withSwitchedHosts } from './net-hosts.js';

const ECHO_CLIENT = fileURLToPath(new URL('../../apps/net/echo-client.js', import.meta.url));

interface Echo { seq: number; ms: number }

export const remoteSessionApp: CampaignApp = {
  name: 'remote-session', className: 'net', realTools: true, paperRow: 'network: remote window manager (an echo session through socat)',
  async run(context) {
    const after = 30 * (context.scale ?? 1);
    return withSwitchedHosts(context, { tools: ['socat'] }, async ({ hosts: [a, b] }) => {
      const server = b.start('socat', ['-d', '-d', `TCP-LISTEN:7000,bind=${b.address},reuseaddr`, 'PIPE']);
      if (!await server.until(() => /listening on/.test(server.stderr()))) throw new Error(`socat did not listen: ${server.stderr()}`);
      const client = a.start(process.execPath, [ECHO_CLIENT, b.address, '7000', '20']);
      const echoes = (): Echo[] => client.stdout().split('\n').filter((l) => l.startsWith('{"seq"')).map((l) => JSON.parse(l) as Echo);
      if (!await client.until(() => echoes().length >= 20)) throw new Error(`the session did not start: ${client.stdout().slice(-300)} ${client.stderr()}`);
      await context.inject();
      const settled = echoes().length;
      // Until `after` more echoes came, or none for 5 s (the session stopped: a recovery and TCP's
      // retransmission back-off delay an echo by well under that).
      for (let seen = -1; echoes().length < settled + after && echoes().length > seen;) {
        seen = echoes().length;
        await client.until(() => echoes().length >= settled + after || echoes().length > seen, 5000);
      }
      client.child.stdin!.end('stop\n');
      const exitDeadline = setTimeout(() => void client.kill(), 5000);
      const code = await client.exited;
      clearTimeout(exitDeadline);
      const lines = client.stdout().split('\n');
      const done = lines.find((l) => l.startsWith('{"done"'));
      const summary = done ? (JSON.parse(done) as { sent: number; echoed: number }) : undefined;
      const got = echoes();
      const inOrder = got.every((e, i) => e.seq === i);
      const worst = Math.max(0, ...got.map((e) => e.ms));
      const failure = lines.find((l) => l.startsWith('{"error"'));
      const ok = code === 0 && !!summary && summary.echoed === summary.sent && got.length === summary.sent && inOrder;
      return {
        finished: code === 0, errors: code === 0 ? 0 : 1, verified: ok,
        detail: `${got.length} of ${summary?.sent ?? '?'} messages echoed${inOrder ? ' in order' : ' out of order'}, worst round trip ${worst} ms` +
          (failure ? `; the session ended: ${JSON.parse(failure).error}` : code !== 0 ? `; the client exited ${code}` : ''),
      };
    });
  },
};
