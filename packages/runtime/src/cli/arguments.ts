/** Parsers of the CLI's option values: a bad value is one line naming what was expected. */
import { InvalidArgumentError } from 'commander';

const TiB = 2 ** 40;

/** A disk size: a whole number of 4096-byte blocks, up to 1 TiB (never silently rounded). */
export function blockSizeMultiple(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a whole number of bytes, found ${JSON.stringify(value)}`);
  if (n % 4096 !== 0) throw new InvalidArgumentError(`expected a multiple of the block size 4096, found ${n} (${Math.floor(n / 4096) * 4096} or ${Math.ceil(n / 4096) * 4096}?)`);
  if (n > TiB) throw new InvalidArgumentError(`expected at most 1 TiB (${TiB}), found ${n}`);
  return n;
}

/** A TCP port, 0 (any free one) to 65535. */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError(`expected a port from 0 to 65535, found ${JSON.stringify(value)}`);
  return n;
}
