/**
 * An application the demo runs on its own shadowed disk, besides the checksummed data sets:
 * it starts working on the disk, stops when told (after the faults have stopped), then checks
 * what it finds there with its own means and with real tools where they are installed.
 */
import type { BlockDevice } from 'shadow-drivers';

export interface AppCheck {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
}

export interface AppOutcome {
  /** Operations the application saw fail. With shadow drivers this must stay 0. */
  errors: number;
  /** One line of what was done and verified. */
  summary: string;
  checks: AppCheck[];
  /** The first few errors, as readable lines. */
  problems: string[];
}

export interface DemoApp {
  /** What it is, for the report ("database", "ext4"). */
  readonly title: string;
  /** Starts the work on `disk` (open); resolves once it is under way. */
  start(disk: BlockDevice): Promise<void>;
  /** Ends the work; resolves when the last operation is over. */
  stop(): Promise<void>;
  /** Verifies what is on the disk. */
  finish(): Promise<AppOutcome>;
  /** A few words of progress ("812 transfers, 0 errors"). */
  progress(): string;
}
