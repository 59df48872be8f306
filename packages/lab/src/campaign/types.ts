/** What a campaign trial is and what it found, as data (kept in the resumable results file). */
/** A mutation trial whose fault is in the loaded driver only (see FaultPlan). */
export const isTransientMutation = (spec: { fault: FaultPlan }) => spec.fault.type === 'mutation' && spec.fault.transient === true;

export type Configuration = 'native' | 'restart' | 'shadow';

export type FaultPlan =
  | { type: 'fail-stop'; kind: import('shadow-drivers').FaultKind }
  /**
   * One mutant driver. `transient`: the fault is in the loaded driver only, and every later
   * incarnation loads the original (the paper's method: its injector changed the driver in
   * memory, and recovery reloaded it from its file). Otherwise (persistent) the fault is in the
   * driver's file: every restart loads the mutant again.
   */
  | { type: 'mutation'; seed: number; transient?: boolean }
  /**
   * From the application's `inject()` on, fail-stop faults of random kinds again and again, a
   * random pause of `intervalMs` after each recovery, while a workload `scale` times longer runs.
   */
  | { type: 'soak'; scale: number; intervalMs: [number, number] }
  /** A fault of the device itself (src/campaign/device/): the trial's application is that scenario. */
  | { type: 'device'; kind: string }
  | { type: 'none' };

export interface TrialSpec {
  id: string;
  app: string;
  configuration: Configuration;
  fault: FaultPlan;
  seed: number;
}

/**
 * The paper's classes of outcome, plus "not manifested" for mutations that changed nothing
 * visible, and "not run" for a trial whose application cannot run on this machine (a tool or
 * kernel feature missing): never a malfunction, and never evidence for or against a goal.
 */
export type Outcome = 'ok' | 'malfunction' | 'crash-hang' | 'not-manifested' | 'not-run';

/** Thrown by an application that cannot run here; the trial's outcome is `not-run`, with the reason. */
export class NotRunnable extends Error {
  override readonly name = 'NotRunnable';
}

/** What the application observed, as its own checks report it. */
export interface AppReport {
  /** Set when the application could not run on this machine (the reason): the outcome is `not-run`. */
  notRun?: string;
  /** The application ran to its end. */
  finished: boolean;
  /** Calls the application saw fail. */
  errors: number;
  /** Its output passed its checks (data, balances, frames, audio). */
  verified: boolean;
  detail: string;
  /** Device-level scenarios: requests the device itself refused, passed to the application as its errors. */
  deviceErrors?: number;
  /** Device-level scenarios: failures the runtime took the device's behaviour for. */
  driverFailures?: number;
}

export interface TrialResult {
  spec: TrialSpec;
  outcome: Outcome;
  /** Why, in a line: the application's detail, or how the trial process ended. */
  cause: string;
  app: AppReport | undefined;
  /** Every recovery, with the fault kind injected before it (fail-stop and soak trials). */
  recoveries: { cause: string; totalMs: number; fault?: import('shadow-drivers').FaultKind }[];
  failures: number;
  /** The mutation applied, for mutation trials. */
  mutation?: string;
  /**
   * Faults actually injected: 1 for a fail-stop trial whose fault was injected (0 if the
   * application never got there), 1 for a mutation trial whose mutant was loaded, the count for
   * a soak. Results written before this field existed are read as 1 (see `faultsOf`).
   */
  faults: number;
  /** For soak trials: what the soak injected and saw. */
  soak?: import('./soak.js').SoakCount;
  elapsedMs: number;
}

/** Faults a result counts, for results written before `faults` was recorded too. */
export function faultsOf(r: Pick<TrialResult, 'faults' | 'spec'>): number {
  return typeof r.faults === 'number' ? r.faults : r.spec.fault.type === 'none' ? 0 : 1;
}
