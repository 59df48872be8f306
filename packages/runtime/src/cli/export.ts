/**
 * `shadowd export`: attaches a shadowed block device and serves it over NBD until interrupted,
 * so any NBD client (nbdinfo, nbdcopy, qemu-img, nbdfuse) uses a disk whose driver may fail.
 * Every mistake (a socket path whose directory is missing, a socket in use, an address that
 * cannot be listened on, a driver that does not start) is one line and exit 1; what was
 * started is stopped first.
 */
import { existsSync, lstatSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRuntime } from '../runtime.js';
import { startNbdServer, type NbdListenAddress, type NbdServer } from '../nbd/server.js';
import type { DomainKind } from '../isolation/domain.js';
import { ErrorCodes, ShadowError } from '../errors.js';
import { socketAnswers } from '../service/config-check.js';

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

/** The socket path must be free, or a leftover socket nobody answers on (then it is replaced). */
async function checkSocket(path: string): Promise<void> {
  if (!existsSync(dirname(path))) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `--socket: no directory ${dirname(path)}`);
  let stat;
  try { stat = lstatSync(path); } catch { return; }
  if (!stat.isSocket()) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `--socket: ${path} exists and is not a socket`);
  if (await socketAnswers(path)) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, `--socket: ${path} is in use by a running server`);
  rmSync(path, { force: true });
}

function listenError(err: NodeJS.ErrnoException, options: ExportOptions): ShadowError {
  const where = err.code === 'EADDRINUSE' ? 'address in use' : err.code === 'EACCES' ? 'permission denied' : err.code ?? err.message;
  return new ShadowError(ErrorCodes.INVALID_ARGUMENT, `cannot listen on ${options.socket ?? `${options.host}:${options.port ?? 10809}`}: ${where}`, { cause: err });
}

export async function runExport(options: ExportOptions): Promise<number> {
  if (options.driver === 'file' && !options.path) throw new ShadowError(ErrorCodes.INVALID_ARGUMENT, '--path: the file driver needs a disk image or block device');
  if (options.socket) await checkSocket(resolve(options.socket));
  const runtime = createRuntime({ driverLogs: 'stderr' });
  runtime.manager.on('failure', (e) => console.error(`driver failure: ${e.kind} (${e.message})`));
  runtime.manager.on('recovery', (e) => console.error(`recovered in ${e.totalMs.toFixed(1)} ms`));
  runtime.manager.on('gave-up', (e) => console.error(`gave up: ${e.reason}`));
  let server: NbdServer | undefined;
  try {
    const config = options.driver === 'file' ? { path: options.path, readOnly: options.readOnly } : { sizeBytes: options.size };
    const disk = await runtime.attachBlock({ name: 'export0', driver: options.driver, domain: options.domain, config, warmStandby: true });
    await disk.open({ readOnly: options.readOnly ?? false });
    const listen: NbdListenAddress[] = [];
    if (options.socket) listen.push({ path: options.socket });
    if (options.port !== undefined || !options.socket) listen.push({ host: options.host, port: options.port ?? 10809 });
    const started = await startNbdServer({ exports: { '': disk }, listen, busyPollUs: runtime.manager.busyPollUs }).catch((err: NodeJS.ErrnoException) => { throw listenError(err, options); });
    server = started.server;
    for (const a of started.addresses) console.log('path' in a ? `nbd+unix:///?socket=${a.path}` : `nbd://${a.host}:${a.port}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } finally {
    await server?.close();
    if (options.socket) rmSync(resolve(options.socket), { force: true });
    await runtime.close();
  }
}
