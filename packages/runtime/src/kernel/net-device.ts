/**
 * The network device as the kernel's network stack uses it: the same object for the
 * device's whole life. It owns the transmit queue. While the driver recovers, the shadow
 * answers transmit with "busy"; the queue then holds frames (back-pressure) and sends them
 * when the driver is back; frames beyond its bound are dropped and counted, as a NIC's
 * queue would. Frames that were in flight when the driver failed may or may not have left:
 * they are counted as indeterminate, never resent twice.
 */
import type { EventEmitter } from 'node:events';
import { mtuOf, type LinkState, type NetInfo, type NetStats } from '../classes/net/contract.js';
import { MAX_BATCH } from '../classes/net/frames.js';
import { offloadProblem, resolveOffload, resolveOffloads, type Offload } from '../classes/net/offload.js';
import { ErrorCodes, isShadowError } from '../errors.js';
import type { Device } from './device.js';

export interface NetQueueCounters {
  /** Frames accepted into the queue. */
  queued: number;
  /** Frames the driver reported put on the wire. */
  sent: number;
  /** Frames dropped because the queue was full (during recovery, mostly). */
  droppedQueueFull: number;
  /** Frames the driver's hardware refused (its own ring full, carrier down). */
  droppedByDriver: number;
  /** Frames in flight when the driver failed: they may or may not have left. */
  indeterminate: number;
  /** Frames dropped because the device gave up or was closed. */
  droppedGone: number;
  /** Times transmit answered busy (the queue stopped until recovery ended). */
  busy: number;
  /** Frames refused by `send` because their offload header does not fit the frame or this device's MTU. */
  droppedMalformed: number;
}

/** What became of frames handed to `send`, one counter each (see NetQueueCounters). */
export type TransmitOutcome = 'sent' | 'droppedByDriver' | 'indeterminate' | 'droppedGone' | 'droppedQueueFull';

export interface NetDeviceOptions {
  /** Frames the queue holds before it drops (default 1024). */
  queueLimit?: number;
  /** Longest the queue stays stopped without hearing of a recovery before it tries again. */
  busyRetryMs?: number;
}

/** Bytes per transmit call, about: a batch of GSO frames stays a few hundred KiB per message. */
const BATCH_BYTES = 256 * 1024;
/**
 * Transmit calls in flight at once: the next batch crosses to the driver while it still
 * writes the last, so a domain crossing's latency does not bound the rate. Calls are
 * answered in order; a busy answer stops new calls until recovery, and the refused batches
 * go back to the head of the queue in their order.
 */
const MAX_IN_FLIGHT = 4;

interface Batch { seq: number; frames: Uint8Array[]; offloads: (Offload | null)[] }

export class NetDevice {
  readonly device: Device;
  readonly counters: NetQueueCounters = { queued: 0, sent: 0, droppedQueueFull: 0, droppedByDriver: 0, indeterminate: 0, droppedGone: 0, busy: 0, droppedMalformed: 0 };
  readonly #queue: Uint8Array[] = [];
  /** One virtio-net header (or null) per queued frame; only a driver with offloads gets them. */
  readonly #queueOffloads: (Offload | null)[] = [];
  readonly #limit: number;
  readonly #retryMs: number;
  readonly #events: EventEmitter;
  #inFlight = 0;
  #inFlightFrames = 0;
  #halted = false;
  #seq = 0;
  #kick = false;
  readonly #refused: Batch[] = [];
  #stopped: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  #idle: (() => void)[] = [];
  readonly #outcomes = new Set<(frames: Uint8Array[], outcome: TransmitOutcome) => void>();

  constructor(device: Device, events: EventEmitter, options: NetDeviceOptions = {}) {
    this.device = device;
    this.#events = events;
    this.#limit = options.queueLimit ?? 1024;
    this.#retryMs = options.busyRetryMs ?? 1000;
  }

  get name(): string {
    return this.device.name;
  }

  up = (): Promise<unknown> => this.device.call('up', {});
  down = (): Promise<unknown> => this.device.call('down', {});
  setMac = (mac: string): Promise<unknown> => this.device.call('setMac', { mac });
  setMtu = (mtu: number): Promise<unknown> => this.device.call('setMtu', { mtu });
  setMulticast = (groups: string[]): Promise<unknown> => this.device.call('setMulticast', { groups });
  setPromiscuous = (on: boolean): Promise<unknown> => this.device.call('setPromiscuous', { on });
  stats = async (): Promise<NetStats> => (await this.device.call('stats', {})) as NetStats;
  linkState = async (): Promise<LinkState> => (await this.device.call('linkState', {})) as LinkState;

  /**
   * Received frames, batched as the driver delivered them. A listener that asks for
   * `offloads` gets GSO frames and frames with checksums to complete as they came, with their
   * headers (a switch passes them on whole); any other gets plain frames, resolved here.
   */
  onReceive(listener: (frames: Uint8Array[], offloads?: (Offload | null)[]) => void, options: { offloads?: boolean } = {}): () => void {
    return this.device.on('receive', (args) => {
      const { frames, offloads } = args as { frames: Uint8Array[]; offloads?: (Offload | null)[] };
      if (options.offloads) listener(frames, offloads);
      else listener(resolveOffloads(frames, offloads));
    });
  }

  /** The driver registered offloads: frames reach it with their headers, uncut. */
  get takesOffloads(): boolean {
    return (this.device.state.info as NetInfo | undefined)?.offloads === true;
  }

  onLink(listener: (carrier: boolean) => void): () => void {
    return this.device.on('link', (args) => listener((args as { carrier: boolean }).carrier));
  }

  /**
   * Tells `listener` the fate of every frame handed to `send`, in queue order: which frames
   * the driver put on the wire, which it refused, which were in flight when it failed. An
   * analyzer needs this to account for each frame; the counters only say how many.
   */
  onOutcome(listener: (frames: Uint8Array[], outcome: TransmitOutcome) => void): () => void {
    this.#outcomes.add(listener);
    return () => this.#outcomes.delete(listener);
  }

  #tell(frames: Uint8Array[], outcome: TransmitOutcome): void {
    if (frames.length > 0) for (const listener of this.#outcomes) listener(frames, outcome);
  }

  /** Frames waiting in the queue. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Queues a frame for transmission; false when the queue was full and it was dropped. A frame
   * with an offload header goes as it is to a driver that takes offloads; for any other, its
   * checksum is completed and a GSO frame cut into segments here, as Linux does in software
   * for a device without the feature.
   */
  send(frame: Uint8Array, offload: Offload | null = null): boolean {
    if (offload && offloadProblem(frame, offload, mtuOf(this.device.state))) { this.counters.droppedMalformed++; return false; }
    if (offload && !this.takesOffloads) {
      // The segments of one frame share its fate: all queued, or all dropped.
      const pieces = resolveOffload(frame, offload);
      if (this.#queue.length + this.#inFlightFrames + pieces.length > this.#limit) {
        this.counters.droppedQueueFull += pieces.length;
        if (this.#outcomes.size) this.#tell(pieces, 'droppedQueueFull');
        return false;
      }
      let all = true;
      for (const piece of pieces) all = this.#enqueue(piece, null) && all;
      return all;
    }
    return this.#enqueue(frame, offload);
  }

  #enqueue(frame: Uint8Array, offload: Offload | null): boolean {
    if (this.device.status === 'closed' || this.device.status === 'gave-up') {
      this.counters.droppedGone++;
      if (this.#outcomes.size) this.#tell([frame], 'droppedGone');
      return false;
    }
    if (this.#queue.length + this.#inFlightFrames >= this.#limit) {
      this.counters.droppedQueueFull++;
      if (this.#outcomes.size) this.#tell([frame], 'droppedQueueFull');
      return false;
    }
    this.#queue.push(frame);
    this.#queueOffloads.push(offload);
    this.counters.queued++;
    if (!this.#kick) {
      // Started once the caller's turn ends, so a switch's whole batch leaves in one call.
      this.#kick = true;
      queueMicrotask(() => { this.#kick = false; this.#pump(); });
    }
    return true;
  }

  /** Resolves when the queue is empty and nothing is in flight. */
  drained(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Drops what is queued and stops waiting (the device is going away). */
  close(): void {
    const dropped = this.#queue.splice(0);
    this.#queueOffloads.splice(0);
    this.counters.droppedGone += dropped.length;
    this.#tell(dropped, 'droppedGone');
    this.#stopped?.wake();
  }

  /** Starts transmit calls, up to MAX_IN_FLIGHT, unless stopped by a busy answer. */
  #pump(): void {
    while (!this.#halted && this.#inFlight < MAX_IN_FLIGHT && this.#queue.length > 0) {
      const n = this.#batchLength();
      const batch = { seq: this.#seq++, frames: this.#queue.splice(0, n), offloads: this.#queueOffloads.splice(0, n) };
      this.#inFlight++;
      this.#inFlightFrames += n;
      void this.#transmit(batch);
    }
    if (this.idle) for (const resolve of this.#idle.splice(0)) resolve();
  }

  get idle(): boolean {
    return this.#inFlight === 0 && this.#queue.length === 0 && !this.#halted;
  }

  async #transmit(batch: Batch): Promise<void> {
    const { frames, offloads } = batch;
    try {
      const args = offloads.some((o) => o !== null) && this.takesOffloads ? { frames, offloads } : { frames };
      const { accepted } = (await this.device.call('transmit', args)) as { accepted: number };
      this.counters.sent += accepted;
      this.counters.droppedByDriver += frames.length - accepted;
      if (this.#outcomes.size) {
        // The driver takes frames in order: the first `accepted` left, the rest were refused.
        this.#tell(frames.slice(0, accepted), 'sent');
        this.#tell(frames.slice(accepted), 'droppedByDriver');
      }
    } catch (err) {
      if (isShadowError(err, ErrorCodes.BUSY)) {
        if (!this.#halted) this.counters.busy++;
        this.#halted = true;
        this.#refused.push(batch);
      } else if (isShadowError(err, ErrorCodes.NOT_RESUBMITTED)) {
        this.counters.indeterminate += frames.length;
        this.#tell(frames, 'indeterminate');
      } else {
        // Gave up, closed, or the interface went down: nothing queued can leave any more.
        const rest = this.#queue.splice(0);
        this.#queueOffloads.splice(0);
        this.counters.droppedGone += frames.length + rest.length;
        this.#tell(frames, 'droppedGone');
        this.#tell(rest, 'droppedGone');
      }
    } finally {
      this.#inFlight--;
      this.#inFlightFrames -= frames.length;
    }
    if (this.#halted) {
      if (this.#inFlight > 0) return; // the last call to settle puts the refused batches back
      const back = this.#refused.splice(0).sort((x, y) => x.seq - y.seq);
      this.#queue.unshift(...back.flatMap((b) => b.frames));
      this.#queueOffloads.unshift(...back.flatMap((b) => b.offloads));
      await this.#waitForRecovery();
      this.#halted = false;
    }
    this.#pump();
  }

  /** Frames for the next transmit: at most MAX_BATCH, and about BATCH_BYTES (GSO frames are 64 KiB). */
  #batchLength(): number {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < MAX_BATCH && (n === 0 || bytes < BATCH_BYTES)) bytes += this.#queue[n++]!.length;
    return n;
  }

  /** The queue stays stopped until the device's recovery ends (or gives up), bounded. */
  #waitForRecovery(): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#events.off('recovery', onEvent).off('gave-up', onEvent);
        this.#stopped = undefined;
        resolve();
      };
      const onEvent = (event: { device: string }): void => { if (event.device === this.device.name) wake(); };
      const timer = setTimeout(wake, this.#retryMs);
      this.#events.on('recovery', onEvent).on('gave-up', onEvent);
      this.#stopped = { timer, wake };
    });
  }
}
