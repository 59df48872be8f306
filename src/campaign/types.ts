/** What a campaign trial is and what it found, as data (kept in the resumable results file). */
export type Configuration = 'native' | 'restart' | 'shadow';

export type FaultPlan =
  | { type: 'fail-stop'; kind: import('../faults/fault-kinds.js').FaultKind }
  | { type: 'mutation'; seed: number }
  | { type: 'none' };

export interface TrialSpec {
  id: string;
  app: string;
  configuration: Configuration;
  fault: FaultPlan;
  seed: number;
}

/** The paper's classes of outcome, plus "not manifested" for mutations that changed nothing visible. */
export type Outcome = 'ok' | 'malfunction' | 'crash-hang' | 'not-manifested';

/** What the application observed, as its own checks report it. */
export interface AppReport {
  /** The application ran to its end. */
  finished: boolean;
  /** Calls the application saw fail. */
  errors: number;
  /** Its output passed its checks (data, balances, frames, audio). */
  verified: boolean;
  detail: string;
}

export interface TrialResult {
  spec: TrialSpec;
  outcome: Outcome;
  /** Why, in a line: the application's detail, or how the trial process ended. */
  cause: string;
  app: AppReport | undefined;
  recoveries: { cause: string; totalMs: number }[];
  failures: number;
  /** The mutation applied, for mutation trials. */
  mutation?: string;
  elapsedMs: number;
}
