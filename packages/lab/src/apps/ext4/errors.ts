/**
 * Errors of the userspace ext4, each with a stable code. A filesystem call that failed says
 * which call, the errno libext2fs gave, and the block device's error under it when there was
 * one (what a driver failure the shadow could not hide would look like).
 */
export const Ext4ErrorCodes = {
  /** Bad options or a device the filesystem cannot live on (too small, read-only). */
  INVALID_ARGUMENT: 'EXT4_INVALID_ARGUMENT',
  /** A program from e2fsprogs (mke2fs) is not installed. */
  TOOL_MISSING: 'EXT4_TOOL_MISSING',
  /** mke2fs exited with an error. */
  MKFS_FAILED: 'EXT4_MKFS_FAILED',
  /** A filesystem call failed (libext2fs returned an errno). */
  FS_CALL: 'EXT4_FS_CALL',
  /** The call needs a mounted (or an unmounted) filesystem. */
  STATE: 'EXT4_STATE',
} as const;

export type Ext4ErrorCode = (typeof Ext4ErrorCodes)[keyof typeof Ext4ErrorCodes];

export class Ext4Error extends Error {
  readonly code: Ext4ErrorCode;
  /** For FS_CALL: the errno name from libext2fs (EIO, ENOSPC, …). */
  readonly errno: string | undefined;
  /** For FS_CALL: the first block device error seen under the filesystem, if any. */
  readonly deviceError: string | undefined;

  constructor(code: Ext4ErrorCode, message: string, details: { errno?: string; deviceError?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'Ext4Error';
    this.code = code;
    this.errno = details.errno;
    this.deviceError = details.deviceError;
  }
}
