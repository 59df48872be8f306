/**
 * The process one scale series runs in (scale.ts forks it): its PSS before the first attach is
 * a fresh node's with the lab loaded, whatever series ran before. It takes the series and the
 * options as its first message, answers with the result (or the error), and exits.
 */
import { measureSeries, type ScaleChildMessage, type ScaleOptions, type ScaleSeriesSpec } from './scale.js';

const send = (message: ScaleChildMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

process.once('message', (m: { spec: ScaleSeriesSpec; options: Omit<ScaleOptions, 'progress'> }) => {
  void (async () => {
    try {
      const series = await measureSeries(m.spec, { ...m.options, progress: (line) => void send({ progress: line }) });
      await send({ series });
    } catch (err) {
      await send({ error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
    process.disconnect();
  })();
});
