/**
 * The real system a model-based test drives: a runtime on a fake clock with one shadowed block
 * device whose driver (test/fixtures/drivers/gated.ts) runs in an inline domain and holds every
 * call at the test's gate. Nothing in it depends on real time: the inline domain works in
 * microtasks, timers are the fake clock's, and the test decides when each call completes.
 */
import { createRuntime, type Runtime } from '../../src/index.js';
import { DriverFailure, type FailureKind } from '../../src/errors.js';
import type { FaultKind } from '../../src/faults/fault-kinds.js';
import type { FailureEvent } from '../../src/observe/channels.js';
import type { BlockDevice } from '../../src/kernel/block-device.js';
import { kManaged } from '../../src/manager/shadow-manager.js';
import type { ManagedDriver } from '../../src/manager/managed.js';
import { BLOCK, blockContent } from '../../src/testing/workload.js';
import { BlockModel, type Op } from './block-model.js';
import { FakeClock } from './fake-clock.js';
import { gate } from './gate.js';

export const NAME = 'model';

/**
 * Faults an inline domain cannot carry out without taking the test's own process with it
 * (exit, abort, an uncaught throw or rejection, a loop that never yields, a heap exhausted):
 * the kernel is told of them as their detection reports them (the failure kind each becomes in
 * a worker or process domain), through the channel's one fail-stop path. `kill`, `contract`,
 * `never-answer` and `bad-kernel-call` are carried out for real, through the fault injector.
 */
export const standIns: Partial<Record<FaultKind, FailureKind>> = {
  exit: 'exit', abort: 'exit', throw: 'exception', rejection: 'rejection', 'busy-loop': 'no-heartbeat', memory: 'memory',
};

export interface WorldConfig {
  /** The restart policy's budget: failures within 10 s before the device gives up. */
  intensity: number;
}

/**
 * Over all runs: which faults struck in which state (`kill@running`, `contract@reinit`, ...),
 * which failures the manager detected, how often the device gave up.
 */
export const coverage = new Map<string, number>();
const count = (key: string): void => { coverage.set(key, (coverage.get(key) ?? 0) + 1); };

export class BlockWorld {
  readonly clock = new FakeClock();
  readonly model: BlockModel;
  readonly rt: Runtime;
  disk!: BlockDevice;
  managed!: ManagedDriver;
  /** The device memory behind the disk: what really reached the medium, seen from outside. */
  medium!: Uint8Array;

  private constructor(blocks: number) {
    this.model = new BlockModel(blocks);
    // A fixed `random`: the restart policy's jitter is the same on every replay.
    this.rt = createRuntime({ clock: this.clock, random: () => 0.5, faultInjection: true });
  }

  static async start(blocks: number, config: WorldConfig): Promise<BlockWorld> {
    const world = new BlockWorld(blocks);
    gate.reset();
    const { rt, model } = world;
    rt.registerDriver({
      class: 'block', name: 'gated', module: new URL('../fixtures/drivers/gated.js', import.meta.url).href,
      resources: () => [{ name: 'medium', memoryBytes: blocks * BLOCK }],
    });
    world.disk = await rt.attachBlock({
      name: NAME, driver: 'gated', domain: 'none', recovery: 'shadow',
      restart: { intensity: config.intensity, periodMs: 10_000, baseDelayMs: 10, maxDelayMs: 40, jitter: 0, stableAfterMs: 500 },
    });
    await world.disk.open();
    world.managed = rt.manager[kManaged](NAME)!;
    world.medium = new Uint8Array(world.disk.device.resources[0]!.memory!);
    rt.manager.on('gave-up', () => { model.gaveUpAt ??= model.time; });
    rt.manager.on('quarantine', () => { model.quarantinedAt ??= model.time; });
    rt.manager.on('failure', (e: FailureEvent) => count(`detected ${e.kind}${e.duringRecovery ? ' during recovery' : ''}`));
    rt.manager.on('gave-up', () => count('gave up'));
    gate.open = false;
    return world;
  }

  issue(op: Op, block: number): void {
    const request = this.model.issue(op, block);
    const at = block * BLOCK;
    const promise = op === 'read' ? this.disk.read(at, BLOCK)
      : op === 'write' ? this.disk.write(at, blockContent(block, request.gen))
        : op === 'configure' ? this.disk.configure('writeCache', block % 2 === 0 ? 'writeback' : 'writethrough') : this.disk.flush();
    this.model.track(request, promise);
  }

  /** The driver completes the k-th call it holds (modulo how many it holds; none: nothing happens). */
  completeHeld(k: number): void {
    gate.release(k);
  }

  /** Where the device is: its state, or the recovery phase it is held in. */
  phase(): string {
    if (this.managed.state !== 'recovering') return this.managed.state;
    const entries = gate.held.map((h) => h.entry);
    if (entries.includes('init')) return 'reinit';
    if (entries.includes('open')) return 'replay';
    if (entries.includes('configure') && !entries.some((e) => e === 'read' || e === 'write' || e === 'flush')) return 'replay';
    if (entries.length > 0) return 'resubmit';
    if (this.clock.nextOneShot() !== undefined) return 'backoff';
    return 'recovering (a call swallowed)';
  }

  fault(kind: FaultKind): void {
    if (this.model.detachedAt !== undefined) return;
    count(`${kind}@${this.phase()}`);
    const standIn = standIns[kind];
    if (standIn) this.managed.current.channel.fail(new DriverFailure(standIn, `injected ${kind} (stand-in in an inline domain)`));
    else this.rt.inject(NAME, { kind });
  }

  /** The next driver recovery starts fails to load: a failure in the restart phase. */
  failNextLoad(): void {
    count(`load@${this.phase()}`);
    gate.failNextLoad = true;
  }

  async detach(): Promise<void> {
    this.model.detachedAt = ++this.model.time;
    await this.rt.detach(NAME);
  }

  /** Lets everything queued run: the inline domain and the shadow work in microtasks only. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * Lets every held call through and time pass until no request is pending and no recovery
   * runs (deadlines catch a swallowed call, backoffs end); a bounded number of rounds.
   */
  async drain(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const state = this.managed.state;
      if (this.model.pending.length === 0 && state !== 'recovering' && state !== 'starting') return;
      if (gate.releaseAll() === 0) this.clock.advance(this.clock.nextOneShot() ?? 1000);
      await this.settle();
    }
  }

  /** The closing checks: nothing pending, every block readable as the model says, and the medium too. */
  async finish(): Promise<void> {
    const { model } = this;
    await this.drain();
    const pending = model.pending;
    if (pending.length > 0) model.violations.push(`left pending after the drain: ${pending.map((r) => `${r.op}#${r.id}`).join(', ')}`);
    if (this.managed.state === 'recovering') model.violations.push('a recovery never ended');
    if (this.managed.state === 'running') {
      for (let block = 0; block < model.blocks; block++) this.issue('read', block);
      await this.drain();
    }
    for (let block = 0; block < model.blocks; block++) {
      const allowed = model.candidates(block, ++model.time);
      const held = this.medium.subarray(block * BLOCK, (block + 1) * BLOCK);
      if (model.generationOf(block, held, allowed) === undefined) {
        model.violations.push(`the medium's block ${block} holds data of no write it may hold (allowed generations ${[...allowed].join(', ')})`);
      }
    }
    this.check();
  }

  check(): void {
    if (this.model.violations.length > 0) throw new Error(this.model.violations.join('\n'));
  }

  async close(): Promise<void> {
    // A driver that fails to load is no incarnation yet: the manager publishes no failure for it.
    if (gate.loadsFailed > 0) count('restart failed to load');
    await this.rt.close();
    gate.reset();
  }
}
