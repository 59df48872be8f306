/**
 * `nbd`: a block driver for a disk served over the Network Block Device protocol (nbdkit,
 * qemu-nbd). The driver opens its own connection in `init`; the connection and what was
 * negotiated on it are driver state, so a restarted driver simply connects again and the
 * shadow replays open and settings and resubmits what was in flight (the paper's
 * connection-oriented case).
 *
 * Config: `url` (`nbd://host:port/export`, `nbd+unix:///export?socket=PATH`) or `socket`, or
 * `host` and `port`; `exportName` (default ''); `blockSize` (default 4096); `outageMs` (how
 * long requests wait for a lost server, default 1500: keep it under the runtime's read/write
 * deadline, 2 s x deadlineScale, or the wait is taken for a driver hang and the driver is
 * restarted); `connectMs` (how long init and open try to reach the server, default 1500).
 *
 * Errors the server reports for a request (EIO from a failing disk) are that request's
 * DeviceError; so is a protocol breach by the server (see nbd-client.ts).
 */
import {
  DeviceError, defineBlockDriver, BlockCounters, type WriteCache,
} from '../../classes/block/contract.js';
import { NbdClient, type NbdAddress, type NbdTimings } from './nbd-client.js';
import { Command, CommandFlag, TransmissionFlags, type NbdExport } from './nbd-wire.js';

/** The largest WRITE_ZEROES or TRIM one request carries (their length field is 32 bits). */
const MAX_RANGE = 1 << 30;

export function addressFrom(config: Record<string, unknown>): NbdAddress {
  const exportName = typeof config.exportName === 'string' ? config.exportName : '';
  if (typeof config.url === 'string') {
    const url = new URL(config.url);
    const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || exportName;
    if (url.protocol === 'nbd+unix:') {
      const socket = url.searchParams.get('socket');
      if (!socket) throw new DeviceError('EINVAL', `${config.url} names no socket`);
      return { socket, exportName: name };
    }
    if (url.protocol !== 'nbd:') throw new DeviceError('EINVAL', `${config.url}: only nbd:// and nbd+unix:// are supported`);
    return { host: url.hostname || '127.0.0.1', port: Number(url.port || 10809), exportName: name };
  }
  if (typeof config.socket === 'string') return { socket: config.socket, exportName };
  return { host: typeof config.host === 'string' ? config.host : '127.0.0.1', port: Number(config.port ?? 10809), exportName };
}

export default defineBlockDriver((kernel) => {
  let address: NbdAddress | undefined;
  let timings: NbdTimings = { outageMs: 1500, connectMs: 1500 };
  let client: NbdClient | undefined;
  let server: NbdExport | undefined;
  let blockSize = 4096;
  let readOnlyConfig = false;
  let opened: { readOnly: boolean } | undefined;
  let writeCache: WriteCache = 'writeback';
  const counters = new BlockCounters();
  const log = (message: string) => kernel.log('info', message);

  const can = (flag: number) => ((server?.flags ?? 0) & flag) !== 0;

  async function connected(): Promise<NbdClient> {
    if (!address) throw new DeviceError('ENODEV', 'the NBD disk is not initialized');
    const fresh = new NbdClient(address, timings, log);
    const info = await fresh.connect();
    if (server && info.sizeBytes !== server.sizeBytes) {
      fresh.close();
      throw new DeviceError('ENXIO', `the export is ${info.sizeBytes} bytes now, it was ${server.sizeBytes}`);
    }
    server = info;
    return fresh;
  }

  const ready = (): NbdClient => {
    if (!client || !opened) throw new DeviceError('ENODEV', 'the NBD disk is not open');
    return client;
  };

  /** One NBD request, split into pieces the server accepts; resolves with each piece's data. */
  function issue(type: number, flags: number, offset: number, length: number, data?: Uint8Array,
    each?: (at: number, piece: Buffer) => void): Promise<void> {
    const session = ready();
    const limit = type === Command.READ || type === Command.WRITE
      ? Math.max(blockSize, server!.maxPayload - (server!.maxPayload % blockSize)) : MAX_RANGE;
    const pieces: Promise<void>[] = [];
    // FLUSH has no range (length 0): it is still one request.
    for (let at = 0; at === 0 || at < length; at += limit) {
      const size = Math.min(limit, length - at);
      pieces.push(new Promise<void>((resolve, reject) => session.submit({
        type, flags, offset: offset + at, length: size, data: data?.subarray(at, at + size),
        resolve: (piece) => { if (piece) each?.(at, piece); resolve(); }, reject,
      })));
    }
    return Promise.all(pieces).then(() => undefined);
  }

  return {
    async init({ config }) {
      address = addressFrom(config);
      timings = { outageMs: Number(config.outageMs ?? 1500), connectMs: Number(config.connectMs ?? 1500) };
      blockSize = Number(config.blockSize ?? 4096);
      readOnlyConfig = config.readOnly === true;
      client = await connected();
      const info = server!;
      await kernel.register({
        sizeBytes: info.sizeBytes - (info.sizeBytes % blockSize), blockSize,
        readOnly: readOnlyConfig || can(TransmissionFlags.READ_ONLY),
        // A write is acknowledged once the server answered it: it is the server's, not ours.
        volatileCache: false,
      });
    },
    async open({ readOnly }) {
      client ??= await connected();
      opened = { readOnly };
    },
    close() {
      // NBD_CMD_DISC: the server forgets the connection; open connects again.
      client?.close();
      client = undefined;
      opened = undefined;
    },
    configure({ value }) {
      writeCache = value;
    },
    async read({ offset, length, into }) {
      const target = into.length === length ? into : into.subarray(0, length);
      await issue(Command.READ, 0, offset, length, undefined, (at, piece) => target.set(piece, at));
      counters.count('read', length);
      return target;
    },
    async write({ offset, data }) {
      const throughFua = writeCache === 'writethrough' && can(TransmissionFlags.SEND_FUA);
      await issue(Command.WRITE, throughFua ? CommandFlag.FUA : 0, offset, data.length, data);
      if (writeCache === 'writethrough' && !throughFua && can(TransmissionFlags.SEND_FLUSH)) {
        await issue(Command.FLUSH, 0, 0, 0);
      }
      counters.count('write', data.length);
    },
    async flush() {
      // A server that announces no flush has no volatile cache: its writes are already durable.
      if (can(TransmissionFlags.SEND_FLUSH)) await issue(Command.FLUSH, 0, 0, 0);
      else ready();
      counters.count('flush');
    },
    async discard({ offset, length }) {
      // Discarded blocks read back as zeroes, as with the built-in drivers: WRITE_ZEROES without
      // NO_HOLE lets the server punch a hole. TRIM alone leaves the contents unspecified.
      if (can(TransmissionFlags.SEND_WRITE_ZEROES)) await issue(Command.WRITE_ZEROES, 0, offset, length);
      else if (can(TransmissionFlags.SEND_TRIM)) await issue(Command.TRIM, 0, offset, length);
      else ready();
      counters.count('discard');
    },
    geometry() {
      if (!server) throw new DeviceError('ENODEV', 'the NBD disk is not initialized');
      return { sizeBytes: server.sizeBytes - (server.sizeBytes % blockSize), blockSize,
        readOnly: readOnlyConfig || can(TransmissionFlags.READ_ONLY) };
    },
    stats() {
      return counters.stats();
    },
  };
});
