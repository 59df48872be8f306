/**
 * Everything the runtime has to say about failures and recoveries, as named
 * diagnostics_channel channels (subscribe from anywhere, zero cost when nobody listens).
 */
import diagnostics from 'node:diagnostics_channel';
import type { FailureKind, Outcome } from '../errors.js';

export type RecoveryPhase = 'stop' | 'release' | 'backoff' | 'restart' | 'reinit' | 'replay' | 'resubmit' | 'resume';

export const recoveryPhases: readonly RecoveryPhase[] =
  ['stop', 'release', 'backoff', 'restart', 'reinit', 'replay', 'resubmit', 'resume'];

export interface FailureEvent {
  device: string;
  driver: string;
  kind: FailureKind;
  message: string;
  /** The entry point or kernel service that was running, when known. */
  call: string | undefined;
  /** True when the failure hit a driver that was itself being brought up by recovery. */
  duringRecovery: boolean;
}

export interface RecoveryEvent {
  device: string;
  driver: string;
  mode: 'shadow' | 'restart';
  cause: FailureKind;
  message: string;
  call: string | undefined;
  /** Restarts it took (1 unless the new driver failed during recovery). */
  attempts: number;
  /** Milliseconds per phase, from detection to resume, summed over every attempt (backoff shown apart). */
  phases: Partial<Record<RecoveryPhase, number>>;
  /** The recovery's own work: every phase of every attempt but backoff. */
  totalMs: number;
  /**
   * From the failure's detection to the device serving again, backoff and failed attempts
   * included: the pause the application saw (several attempts can take seconds).
   */
  pauseMs: number;
  /** Recovery started from a spare started before the failure: the device's own (driver loaded), or a shared one (booted). */
  warmStandby: boolean;
  /** Open objects and settings replayed. */
  replayed: number;
  /** Acknowledged requests not yet behind a barrier (writes since the last flush) replayed. */
  replayedUnflushed: number;
  /** Replayed calls the device refused (SD_ERR_IO): logged still, not a failed restart. */
  replayRefused: number;
  resubmitted: number;
  /**
   * Bytes the kernel read off the device's input while the driver recovered (a tty), and
   * whether the hold reached its bound (later bytes waited in the device's own queue).
   */
  inputHeld?: { bytes: number; full: boolean };
}

export interface GaveUpEvent {
  device: string;
  driver: string;
  reason: string;
  /** The device itself is gone (the kernel's own check confirmed it): no driver could serve it. */
  deviceGone: boolean;
}

export interface QuarantineEvent {
  device: string;
  entry: string;
  failures: number;
  outcome: Outcome;
}

/** A live update's steps: the new version beside the old, then the recovery phases without a failure. */
export type UpdatePhase = 'load' | 'init' | 'replay-ahead' | 'quiesce' | 'write-back' | 'carry-state' | 'stop' | 'release' | 'replay' | 'resubmit' | 'resume' | 'probation';

/** Where a live update stopped, when it rolled back. */
export type UpdateFailedIn = 'load' | 'init' | 'replay-ahead' | 'quiesce' | 'carry-state' | 'replay' | 'probation';

export interface UpdateEvent {
  device: string;
  /** The version that ran before (manifest name, or module URL). */
  from: string;
  /** The version asked for. */
  to: string;
  /** Milliseconds per phase so far. */
  phases: Partial<Record<UpdatePhase, number>>;
}

export interface UpdateQuiescedEvent extends UpdateEvent {
  /** Requests that were in flight at the old driver and were waited for. */
  drained: number;
}

export interface UpdateSwitchedEvent extends UpdateEvent {
  /** What applications saw: from the tap's hold to the new driver serving. */
  pauseMs: number;
  replayed: number;
  replayedUnflushed: number;
}

export interface UpdateRolledBackEvent extends UpdateEvent {
  failedIn: UpdateFailedIn;
  cause: string;
}

export const channels = {
  failure: diagnostics.channel('shadow-drivers:failure'),
  recovery: diagnostics.channel('shadow-drivers:recovery'),
  gaveUp: diagnostics.channel('shadow-drivers:gave-up'),
  quarantine: diagnostics.channel('shadow-drivers:quarantine'),
  log: diagnostics.channel('shadow-drivers:driver-log'),
  state: diagnostics.channel('shadow-drivers:state'),
  updateStarted: diagnostics.channel('shadow-drivers:update-started'),
  updateQuiesced: diagnostics.channel('shadow-drivers:update-quiesced'),
  updateSwitched: diagnostics.channel('shadow-drivers:update-switched'),
  updateRolledBack: diagnostics.channel('shadow-drivers:update-rolled-back'),
};

/** A device's lifecycle moved (manager/lifecycle.ts): from, to, and why. */
export interface StateEvent {
  device: string;
  from: 'starting' | 'running' | 'updating' | 'recovering' | 'gave-up' | 'closed';
  to: 'starting' | 'running' | 'updating' | 'recovering' | 'gave-up' | 'closed';
  why: string;
}
