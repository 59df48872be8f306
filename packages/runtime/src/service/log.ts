/**
 * The service's log: JSON lines on stdout through pino (pretty when stdout is a terminal),
 * one per failure, recovery (with its per-phase times), quarantine, give-up and driver log
 * line, each naming the device. Lines are written synchronously, so the last ones before an
 * exit are not lost.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { FailureEvent, GaveUpEvent, QuarantineEvent, RecoveryEvent } from '../observe/channels.js';
import type { DriverLogEvent } from '../observe/driver-log.js';

export type { Logger };

export function createLogger(level: string, pretty_ = process.stdout.isTTY === true): Logger {
  const options = { level, base: { service: 'shadowd' }, timestamp: pino.stdTimeFunctions.isoTime };
  return pretty_ ? pino(options, pretty({ sync: true, colorize: true })) : pino(options, pino.destination({ fd: 1, sync: true }));
}

export const logEvents = {
  failure: (log: Logger, e: FailureEvent) =>
    log.warn({ event: 'failure', device: e.device, driver: e.driver, cause: e.kind, call: e.call, duringRecovery: e.duringRecovery }, `driver failure: ${e.message}`),
  recovery: (log: Logger, e: RecoveryEvent) =>
    log.info({ event: 'recovery', device: e.device, driver: e.driver, cause: e.cause, mode: e.mode, attempts: e.attempts, totalMs: e.totalMs,
      phases: e.phases, warmStandby: e.warmStandby, replayed: e.replayed, resubmitted: e.resubmitted }, `recovered in ${e.totalMs.toFixed(1)} ms`),
  quarantine: (log: Logger, e: QuarantineEvent) =>
    log.warn({ event: 'quarantine', device: e.device, entry: e.entry, failures: e.failures, outcome: e.outcome }, `${e.entry} quarantined after ${e.failures} failures`),
  gaveUp: (log: Logger, e: GaveUpEvent) =>
    log.error({ event: 'gave-up', device: e.device, driver: e.driver, reason: e.reason }, `gave up: ${e.reason}`),
  driverLog: (log: Logger, e: DriverLogEvent) => {
    const level = (['debug', 'info', 'warn', 'error'] as const).includes(e.level as 'info') ? e.level as 'info' : 'info';
    log[level]({ event: 'driver-log', device: e.device, driver: e.driver, source: e.source, dropped: e.dropped || undefined }, e.message);
  },
};
