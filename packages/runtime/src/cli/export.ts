/**
 * `shadowd export`: attaches a shadowed block device and serves it over NBD until interrupted,
 * so any NBD client (nbdinfo, nbdcopy, qemu-img, nbdfuse) uses a disk whose driver may fail.
 */
import { createRuntime } from '../runtime.js';
import { startNbdServer, type NbdListenAddress } from '../nbd/server.js';
import type { DomainKind } from '../isolation/domain.js';

export interface ExportOptions {
  driver: string;
  path?: string;
  size: number;
  domain: DomainKind;
  host: string;
  port?: number;
  socket?: string;
  readOnly?: boolean;
}

export async function runExport(options: ExportOptions): Promise<number> {
  const runtime = createRuntime({ driverLogs: 'stderr' });
  runtime.manager.on('failure', (e) => console.error(`driver failure: ${e.kind} (${e.message})`));
  runtime.manager.on('recovery', (e) => console.error(`recovered in ${e.totalMs.toFixed(1)} ms`));
  runtime.manager.on('gave-up', (e) => console.error(`gave up: ${e.reason}`));
  const config = options.driver === 'file' ? { path: options.path, readOnly: options.readOnly } : { sizeBytes: options.size };
  const disk = await runtime.attachBlock({ name: 'export0', driver: options.driver, domain: options.domain, config, warmStandby: true });
  await disk.open({ readOnly: options.readOnly ?? false });
  const listen: NbdListenAddress[] = [];
  if (options.socket) listen.push({ path: options.socket });
  if (options.port !== undefined || !options.socket) listen.push({ host: options.host, port: options.port ?? 10809 });
  const { server, addresses } = await startNbdServer({ exports: { '': disk }, listen });
  for (const a of addresses) console.log('path' in a ? `nbd+unix:///?socket=${a.path}` : `nbd://${a.host}:${a.port}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await runtime.close();
  return 0;
}
