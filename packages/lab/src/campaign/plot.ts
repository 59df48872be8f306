/**
 * The recovery-time plot beside the report (docs/evaluation-recovery.png): one row per device
 * class and fault kind, every shadow recovery (RecoveryEvent.totalMs) as a dot on a log time
 * axis, with a box from the 25th to the 75th percentile, the median marked and whiskers to the
 * 5th and 95th. Drawn with pureimage, text in DejaVu Sans (Debian's fonts-dejavu-core).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import * as PImage from 'pureimage';
import { quantile } from '../bench/stats.js';
import { mulberry32 } from '../faults/schedule.js';

export interface PlotRow { label: string; ms: number[] }

export const plotFont = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const WIDTH = 1000;
const ROW = 24;
const TOP = 56;
const BOTTOM = 48;
const LEFT = 230;
const RIGHT = 30;
const MIN_MS = 1;
const MAX_MS = 10_000;

/** The image's size for this many rows. */
export function plotSize(rows: number): { width: number; height: number } {
  return { width: WIDTH, height: TOP + Math.max(1, rows) * ROW + BOTTOM };
}

let fontLoaded: Promise<void> | undefined;
function loadFont(): Promise<void> {
  if (!existsSync(plotFont)) throw new Error(`the plot's font is missing: ${plotFont} (Debian package fonts-dejavu-core)`);
  fontLoaded ??= PImage.registerFont(plotFont, 'DejaVu Sans').load();
  return fontLoaded;
}

/** Renders the rows to PNG bytes. */
export async function recoveryPlot(rows: PlotRow[], title: string): Promise<Buffer> {
  await loadFont();
  const { width, height } = plotSize(rows.length);
  const img = PImage.make(width, height);
  const ctx = img.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  const x = (ms: number) => LEFT + ((Math.log10(Math.min(MAX_MS, Math.max(MIN_MS, ms))) - Math.log10(MIN_MS))
    / (Math.log10(MAX_MS) - Math.log10(MIN_MS))) * (width - LEFT - RIGHT);
  const line = (x0: number, y0: number, x1: number, y1: number, colour: string, w = 1) => {
    if (Math.abs(x1 - x0) < 0.5 && Math.abs(y1 - y0) < 0.5) return; // nothing to draw (pureimage would complain)
    ctx.strokeStyle = colour;
    ctx.lineWidth = w;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  };
  const text = (s: string, tx: number, ty: number, size: number, align: 'left' | 'right' | 'center' = 'left') => {
    ctx.fillStyle = '#000000';
    ctx.font = `${size}px 'DejaVu Sans'`;
    const w = ctx.measureText(s).width;
    ctx.fillText(s, align === 'left' ? tx : align === 'right' ? tx - w : tx - w / 2, ty);
  };
  text(title, LEFT, 24, 16);
  text('recovery time, ms (log scale); box 25-75%, | median, whiskers 5-95%', LEFT, 44, 12);
  const bottom = TOP + Math.max(1, rows.length) * ROW;
  for (let ms = MIN_MS; ms <= MAX_MS; ms *= 10) {
    for (const m of [1, 3]) {
      if (ms * m > MAX_MS) continue;
      line(x(ms * m), TOP, x(ms * m), bottom, m === 1 ? '#bbbbbb' : '#e4e4e4');
      text(String(ms * m), x(ms * m), bottom + 16, 11, 'center');
    }
  }
  line(LEFT, bottom, width - RIGHT, bottom, '#000000');
  if (rows.length === 0) text('no recoveries in this run', LEFT + 10, TOP + 16, 12);
  const random = mulberry32(1);
  rows.forEach((row, i) => {
    const mid = TOP + i * ROW + ROW / 2;
    if (i % 2 === 1) { ctx.fillStyle = '#f6f6f6'; ctx.fillRect(LEFT, mid - ROW / 2, width - LEFT - RIGHT, ROW); }
    text(`${row.label} (n=${row.ms.length})`, LEFT - 8, mid + 4, 12, 'right');
    if (row.ms.length === 0) return;
    ctx.fillStyle = 'rgba(40, 90, 200, 0.45)';
    for (const ms of row.ms) ctx.fillRect(x(ms) - 1.5, mid - 7 + random() * 14 - 1.5, 3, 3);
    const [p5, p25, p50, p75, p95] = [0.05, 0.25, 0.5, 0.75, 0.95].map((q) => quantile(row.ms, q)) as [number, number, number, number, number];
    line(x(p5), mid, x(p25), mid, '#202020');
    line(x(p75), mid, x(p95), mid, '#202020');
    ctx.strokeStyle = '#202020';
    ctx.lineWidth = 1;
    ctx.strokeRect(x(p25), mid - 6, Math.max(1, x(p75) - x(p25)), 12);
    line(x(p50), mid - 8, x(p50), mid + 8, '#c02020', 2);
  });
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await PImage.encodePNGToStream(img, sink);
  return Buffer.concat(chunks);
}

export async function writeRecoveryPlot(file: string, rows: PlotRow[], title: string): Promise<void> {
  writeFileSync(file, await recoveryPlot(rows, title));
}
