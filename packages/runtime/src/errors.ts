/**
 * Every error the runtime gives an application carries a stable code. Codes are part of the
 * public contract: applications branch on them, so they never change meaning.
 */
export const ErrorCodes = {
  /** The application passed a bad argument (type, range, alignment). Nothing was changed. */
  INVALID_ARGUMENT: 'SD_ERR_INVALID_ARGUMENT',
  /** A read or write reaches past the end of the device. Nothing was changed. */
  OUT_OF_RANGE: 'SD_ERR_OUT_OF_RANGE',
  /** An offset or length is not a multiple of the device's block size. */
  MISALIGNED: 'SD_ERR_MISALIGNED',
  /** A write, discard or flush was sent to a device opened read-only. */
  READ_ONLY: 'SD_ERR_READ_ONLY',
  /** The device was closed (or detached) by the application. */
  CLOSED: 'SD_ERR_CLOSED',
  /** The device is not open yet (restart-only recovery loses the open, for example). */
  NOT_OPEN: 'SD_ERR_NOT_OPEN',
  /** The device cannot take the call now; retry later (the class's "busy"). */
  BUSY: 'SD_ERR_BUSY',
  /** Restart-only recovery: the driver failed and the call was lost with it. */
  DRIVER_FAILED: 'SD_ERR_DRIVER_FAILED',
  /** The restart budget is spent: the device has given up and fails every call fast. */
  GAVE_UP: 'SD_ERR_GAVE_UP',
  /** This request was in flight at several consecutive driver failures and was quarantined. */
  POISON_REQUEST: 'SD_ERR_POISON_REQUEST',
  /** A non-idempotent request was in flight when the driver failed; see `outcome`. */
  NOT_RESUBMITTED: 'SD_ERR_NOT_RESUBMITTED',
  /** The device reported an I/O error for this request (device-level, not a driver crash). */
  IO: 'SD_ERR_IO',
  /**
   * The device itself is gone (a detached disk, a dead filesystem under its image), as the
   * kernel's own check of its resources confirmed: the device was given up; calls fail fast.
   */
  DEVICE_GONE: 'SD_ERR_DEVICE_GONE',
  /** The call was dropped by the recovery policy of its entry point. */
  DROPPED: 'SD_ERR_DROPPED',
  /** Unknown device, driver, class or entry point. */
  NOT_FOUND: 'SD_ERR_NOT_FOUND',
  /** The runtime was not set up for this (e.g. fault injection without `faultInjection: true`). */
  NOT_SUPPORTED: 'SD_ERR_NOT_SUPPORTED',
  /** The caller may not do this (a control-socket client whose uid is not the service owner's). */
  PERMISSION: 'SD_ERR_PERMISSION',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What happened to a request that could not be carried out normally. Never faked. */
export type Outcome = 'not-executed' | 'completed' | 'indeterminate';

export class ShadowError extends Error {
  readonly code: ErrorCode;
  readonly outcome: Outcome | undefined;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; outcome?: Outcome } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShadowError';
    this.code = code;
    this.outcome = options.outcome;
  }
}

export function isShadowError(value: unknown, code?: ErrorCode): value is ShadowError {
  return value instanceof ShadowError && (code === undefined || value.code === code);
}

/**
 * Why a driver is considered failed. Each is fail-stop: the driver instance is never used
 * again once one is raised.
 */
export type FailureKind =
  | 'exit' // the domain exited or was killed (crash, abort, SIGKILL)
  | 'exception' // uncaught exception inside the driver's domain
  | 'rejection' // unhandled promise rejection inside the driver's domain
  | 'hang' // an entry point missed its deadline
  | 'no-heartbeat' // the domain stopped answering heartbeats (a loop that never yields)
  | 'memory' // the domain ran out of its memory limit
  | 'bad-kernel-call' // the driver called a kernel service with bad arguments or objects
  | 'contract' // the driver's output broke the class contract
  | 'load'; // the driver could not be loaded or initialized

/** A driver failure as the isolation layer reports it to the shadow manager. */
export class DriverFailure extends Error {
  readonly kind: FailureKind;
  /** The entry point or kernel service that was running when the failure was detected. */
  readonly call: string | undefined;
  constructor(kind: FailureKind, message: string, call?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DriverFailure';
    this.kind = kind;
    this.call = call;
  }
}

/** An error a driver returned for one request that is not a driver failure (e.g. EIO). */
export interface WireError {
  message: string;
  code?: string;
  name?: string;
}
