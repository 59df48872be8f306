/**
 * The one decision between a device's error and a driver's bug (classes/error-table.ts), and
 * the driver's side of a device-failed kernel service: a DeviceError it can pass on.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { blockClass } from '../../src/classes/block/contract.js';
import { DeviceError } from '../../src/classes/driver-api.js';
import { classifyError } from '../../src/classes/error-table.js';
import { DomainHost } from '../../src/isolation/domain-host.js';
import type { FromDomain, FromDomainWire } from '../../src/isolation/protocol.js';

const there = () => undefined;
const gone = () => '/dev/loop9 cannot be reached any more (ENXIO on the kernel\'s own descriptor)';

test('a driver\'s DeviceError: the request\'s SD_ERR_IO, unless it is a state error the kernel did not confirm', () => {
  assert.deepEqual(classifyError(blockClass, 'reply', { code: 'EIO', message: 'bad sector' }, there), { kind: 'device', code: 'EIO' });
  assert.deepEqual(classifyError(blockClass, 'reply', { code: 'ENOSPC', message: 'full' }, there), { kind: 'device', code: 'ENOSPC' });
  // ENXIO with the device still there: the device's answer for that request (a resized NBD export).
  assert.equal(classifyError(blockClass, 'reply', { code: 'ENXIO', message: 'x' }, there).kind, 'device');
  const lost = classifyError(blockClass, 'reply', { code: 'ENODEV', message: 'not open' }, there);
  assert.equal(lost.kind, 'driver');
  assert.equal(lost.kind === 'driver' && lost.failure, 'contract');
});

test('ENODEV or ENXIO with the kernel\'s own check failing: the device is gone, with the kernel\'s reason', () => {
  for (const code of ['ENODEV', 'ENXIO', 'ENOTCONN']) {
    const verdict = classifyError(blockClass, 'reply', { code, message: 'x' }, gone);
    assert.equal(verdict.kind, 'gone', code);
    assert.match(verdict.kind === 'gone' ? verdict.reason : '', /kernel's own descriptor/);
  }
  // The probe is asked only for codes that may mean "gone": an EIO stays the request's.
  assert.equal(classifyError(blockClass, 'reply', { code: 'EIO', message: 'x' }, gone).kind, 'device');
});

test('a kernel service failing with a device errno is answered to the driver; a bad call is the driver\'s bug', () => {
  assert.deepEqual(classifyError(blockClass, 'service', { code: 'EIO', message: 'fdatasync' }, there), { kind: 'device', code: 'EIO' });
  const bad = classifyError(blockClass, 'service', { message: 'sync: resource x is not held by this driver' }, there);
  assert.equal(bad.kind === 'driver' && bad.failure, 'bad-kernel-call');
  assert.equal(classifyError(blockClass, 'service', { code: 'EBADF', message: 'x' }, there).kind, 'driver');
  assert.equal(classifyError(blockClass, 'service', { code: 'ENXIO', message: 'x' }, gone).kind, 'gone');
});

test('the domain host hands a device-failed service to the driver as a DeviceError it can pass on', async () => {
  const sent: FromDomainWire[] = [];
  const host = new DomainHost({ send: (batch) => sent.push(...batch), exit: () => undefined, abort: () => undefined });
  const driverUrl = `data:text/javascript,${encodeURIComponent(`export default (k) => ({
    async flush() { await k.sync('disk'); } });`)}`;
  host.receive([{ t: 'load', spec: { driver: driverUrl, bulkOut: {}, resources: [] } }]);
  await until(() => sent.some((m) => m.t === 'loaded'));
  host.receive([{ t: 'call', id: 1, entry: 'flush', args: {} }]);
  await until(() => sent.some((m) => m.t === 'service'));
  const service = sent.find((m) => m.t === 'service') as Extract<FromDomain, { t: 'service' }>;
  host.receive([{ t: 'service-reply', id: service.id, ok: false, error: { message: 'EIO: i/o error, fdatasync', code: 'EIO' }, device: true }]);
  await until(() => sent.some((m) => m.t === 'reply' || m.t === 'fault'));
  const reply = sent.find((m) => m.t === 'reply' || m.t === 'fault')!;
  assert.deepEqual(reply, { t: 'reply', id: 1, ok: false, device: true, error: { message: 'EIO: i/o error, fdatasync', name: 'DeviceError', code: 'EIO' } });
  assert.ok(new DeviceError('EIO', 'x') instanceof Error);
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(condition());
}
