/**
 * What a campaign application gets from the trial: a runtime, a way to attach its devices in
 * the trial's configuration (native, restart-only or shadow; the fault's mutant driver, if any),
 * and the moment to inject the trial's fault, which the application calls mid-workload.
 */
import type { DriverSpec } from 'shadow-drivers';
import type { Runtime } from 'shadow-drivers';
import type { AppReport } from '../types.js';

export interface AppContext {
  rt: Runtime;
  random: () => number;
  /** The spec to attach a device with, in the trial's configuration (the fault targets `target` devices). */
  spec(name: string, base: Omit<DriverSpec, 'name' | 'className'> & { className: string }, target?: boolean): DriverSpec;
  /**
   * Injects the trial's fail-stop fault into the target device, once (later calls do nothing);
   * resolves after the event loop has turned, so a fault carried out on the next turn has acted.
   */
  inject(): Promise<void>;
  /**
   * Workload multiplier (default 1): the part of the workload after `inject()` runs this many
   * times longer, so that a soak trial can inject fault after fault while it runs.
   */
  scale?: number;
  /**
   * When (Date.now()) each of the trial's faults was injected so far, kept up to date while a
   * soak runs; an application that judges losses by the fault's window judges them by each one.
   */
  faultTimes?: readonly number[];
}

export interface CampaignApp {
  name: string;
  /** The device class and the paper's row it stands for. */
  className: 'block' | 'net' | 'sound' | 'serial';
  paperRow: string;
  /**
   * It runs real tools and servers (gcc, PulseAudio, curl in namespaces...): a trial takes
   * seconds to set up, so the quick plan gives it one fail-stop kind and no mutation (the full
   * plan gives every application the same trials).
   */
  realTools?: boolean;
  /**
   * Its driver is native code (the unmodified serialport binding): it runs in a process domain
   * under restart-only and shadow recovery, and its trials include the faults only native code
   * has (a SIGSEGV, which under the native configuration kills the application's host).
   */
  nativeCode?: boolean;
  run(context: AppContext): Promise<AppReport>;
}
