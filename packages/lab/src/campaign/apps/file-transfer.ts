/**
 * The paper's network file transfer row: curl in host A downloads a file of random bytes from
 * `python3 -m http.server` in host B over one TCP connection (no retry, no resume), paced at
 * 4 MiB/s; the fault hits A's driver when a third has arrived. Verified: HTTP 200, one
 * connection, every byte, the copy's sha256 equal to the source's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CampaignApp } from './context.js';
import { withSwitchedHosts } from './net-hosts.js';

const MiB = 1024 * 1024;
const PYTHON = '/usr/bin/python3';

export const fileTransferApp: CampaignApp = {
  name: 'file-transfer', className: 'net', realTools: true, paperRow: 'network: file transfer (curl from python3 http.server)',
  async run(context) {
    const size = Math.round(2 * MiB + 4 * MiB * (context.scale ?? 1));
    const served = join(tmpdir(), 'served');
    await mkdir(served);
    const source = randomBytes(size);
    await writeFile(join(served, 'blob'), source);
    const sha = createHash('sha256').update(source).digest('hex');
    return withSwitchedHosts(context, { tools: [PYTHON, 'curl'] }, async ({ hosts: [a, b] }) => {
      const server = b.start(PYTHON, ['-u', '-m', 'http.server', '8000', '--bind', b.address, '--directory', served]);
      if (!await server.until(() => /Serving HTTP on/.test(server.stdout() + server.stderr()))) {
        throw new Error(`http.server did not start: ${server.stderr()}`);
      }
      const copy = join(tmpdir(), 'copy');
      // A transfer that stalls for 5 s has stopped (a recovery stalls it for well under 2 s).
      const curl = a.start('curl', ['--fail', '--silent', '--show-error', '--max-time', String(20 * (context.scale ?? 1)),
        '--speed-limit', '1024', '--speed-time', '5', '--limit-rate', '4M',
        '-o', copy, '-w', '%{http_code} %{size_download} %{num_connects}', `http://${b.address}:8000/blob`]);
      let ended = false;
      void curl.exited.then(() => { ended = true; });
      // A third of the file arrived (or curl ended): the copy's size, looked at every 20 ms.
      const end = Date.now() + 20_000;
      while (!ended && Date.now() < end && await stat(copy).then((s) => s.size, () => 0) < size / 3) await new Promise((r) => setTimeout(r, 20));
      await context.inject();
      const code = await curl.exited;
      const [http, got, connects] = curl.stdout().trim().split(' ');
      const same = code === 0 && createHash('sha256').update(await readFile(copy).catch(() => Buffer.alloc(0))).digest('hex') === sha;
      const ok = code === 0 && http === '200' && Number(got) === size && Number(connects) === 1 && same;
      return {
        finished: code === 0, errors: code === 0 ? 0 : 1, verified: ok,
        detail: `${(size / MiB).toFixed(1)} MiB: curl exited ${code}, HTTP ${http ?? '-'}, ${got ?? 0} bytes over ${connects ?? '?'} connection(s), ` +
          `copy ${same ? 'identical to the source (sha256)' : 'differs'}${code !== 0 ? `; curl: ${curl.stderr().trim().slice(0, 200)}` : ''}`,
      };
    });
  },
};
