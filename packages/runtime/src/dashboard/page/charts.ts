/**
 * The two charts, drawn by uPlot (loaded by index.html from the package's own copy, a global):
 * recovery time by percentile per device, and each device's request throughput over the last
 * two minutes. A chart is rebuilt only when the device list changes; otherwise its data is set.
 */
import type { Model } from './model.js';

interface Plot { setData(data: (number | null)[][]): void; destroy(): void }
declare const uPlot: new (options: object, data: (number | null)[][], target: HTMLElement) => Plot;

const palette = ['#0969da', '#1a7f37', '#cf222e', '#8250df', '#bc4c00', '#1b7c83', '#bf3989', '#4d2d00'];
const PERCENTILES = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 100];
const POINTS = 120;

function quantile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

class Chart {
  #plot: Plot | undefined;
  #key = '';
  constructor(readonly target: HTMLElement, readonly options: (names: string[]) => object) {}

  draw(names: string[], data: (number | null)[][]): void {
    const key = names.join('\n');
    if (key !== this.#key || !this.#plot) {
      this.#plot?.destroy();
      this.#plot = new uPlot(this.options(names), data, this.target);
      this.#key = key;
    } else {
      this.#plot.setData(data);
    }
  }
}

const series = (names: string[]) => names.map((name, i) => ({ label: name, stroke: palette[i % palette.length], width: 2, spanGaps: true, points: { show: true, size: 4 } }));
const width = (target: HTMLElement) => Math.max(320, target.clientWidth || 480);

export class Charts {
  readonly #recovery: Chart;
  readonly #throughput: Chart;
  readonly #times: number[] = [];
  readonly #rates = new Map<string, (number | null)[]>();

  constructor(recovery: HTMLElement, throughput: HTMLElement) {
    this.#recovery = new Chart(recovery, (names) => ({
      width: width(recovery), height: 220, scales: { x: { time: false } },
      axes: [{ label: 'percentile' }, { label: 'ms' }], series: [{ label: 'percentile' }, ...series(names)],
    }));
    this.#throughput = new Chart(throughput, (names) => ({
      width: width(throughput), height: 220, axes: [{}, { label: 'requests/s' }], series: [{}, ...series(names)],
    }));
  }

  /** After each device snapshot: one throughput point per device. */
  sample(model: Model, atMs: number): void {
    this.#times.push(atMs / 1000);
    for (const d of model.devices) {
      let points = this.#rates.get(d.device);
      if (!points) this.#rates.set(d.device, points = this.#times.slice(0, -1).map(() => null));
      points.push(model.rates.get(d.device) ?? null);
    }
    if (this.#times.length > POINTS) { this.#times.shift(); for (const points of this.#rates.values()) points.shift(); }
    const names = model.devices.map((d) => d.device);
    this.#throughput.draw(names, [this.#times, ...names.map((n) => this.#rates.get(n)!.slice(-this.#times.length))]);
  }

  /** After each recovery (and at hello): the percentile lines. */
  recoveries(model: Model): void {
    const names = model.devices.map((d) => d.device);
    const lines = names.map((name) => {
      const sorted = model.events.filter((e) => e.type === 'recovery' && e.device === name).map((e) => e.totalMs ?? 0).sort((a, b) => a - b);
      return PERCENTILES.map((p) => quantile(sorted, p));
    });
    this.#recovery.draw(names, [PERCENTILES, ...lines]);
  }
}
