/**
 * The recovery-time plot: a valid PNG of the size its rows call for, drawn (not blank), and
 * different when the data differ.
 */
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import * as PImage from 'pureimage';
import { plotSize, recoveryPlot, type PlotRow } from '../../src/campaign/plot.js';

const decode = (png: Buffer) => PImage.decodePNGFromStream(Readable.from([png]));

test('the plot is a PNG of the expected size that changes with the data', async () => {
  const rows: PlotRow[] = [
    { label: 'block exit', ms: [12, 15, 20, 25, 40, 80] },
    { label: 'net busy-loop', ms: [510, 530, 600, 700] },
    { label: 'sound contract', ms: [] },
  ];
  const png = await recoveryPlot(rows, 'test');
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const image = await decode(png);
  assert.deepEqual({ width: image.width, height: image.height }, plotSize(rows.length));
  let ink = 0;
  for (let i = 0; i < image.data.length; i += 4) if (image.data[i]! < 128) ink++;
  assert.ok(ink > 500, `dark pixels: ${ink}`);

  const moved = await recoveryPlot([{ ...rows[0]!, ms: rows[0]!.ms.map((x) => x * 10) }, rows[1]!, rows[2]!], 'test');
  assert.notDeepEqual(moved, png, 'other recovery times, another image');
  assert.deepEqual(await recoveryPlot(rows, 'test'), png, 'the same data, the same image');
  const more = await decode(await recoveryPlot([...rows, { label: 'block kill', ms: [30] }], 'test'));
  assert.equal(more.height, plotSize(4).height);
  assert.ok(plotSize(4).height > plotSize(3).height);
});
