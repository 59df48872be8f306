/**
 * Serial: an interactive line session, numbered lines at 20 per second to a socat echo on the
 * far end of a pty pair, through the shadowed serialport binding; the fault hits the driver
 * after the first second. Verified: every line came back once, in order; the worst echo delay is
 * reported.
 */
import type { CampaignApp } from './context.js';
import { until } from './dataset.js';
import { cable, closePort, openPort, peer } from './serial-ports.js';

export const serialSessionApp: CampaignApp = {
  name: 'serial-session', className: 'serial', realTools: true, nativeCode: true,
  paperRow: 'serial: an interactive line session (a socat echo on a pty)',
  async run(context) {
    const line = await cable();
    const echo = peer('socat', [`${line.far},raw,echo=0`, 'EXEC:cat']);
    const total = 20 + Math.round(40 * (context.scale ?? 1));
    let received = '';
    let errors = 0;
    let problem = '';
    let worst = 0;
    try {
      const port = await openPort(context, line.near, 115200);
      port.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
      port.on('error', (err) => { errors++; problem = err.message; });
      for (let i = 0; i < total && errors === 0; i++) {
        if (i === 20) await context.inject();
        const text = `line ${i}\n`;
        const sent = performance.now();
        await new Promise<void>((resolve) => port.write(text, (err) => { if (err) { errors++; problem = err.message; } resolve(); }));
        await until(() => received.includes(text) || errors > 0, 10_000);
        if (!received.includes(text)) { problem ||= `no echo of line ${i} within 10 s`; break; }
        worst = Math.max(worst, performance.now() - sent);
        await new Promise((r) => setTimeout(r, 50)); // 20 lines a second, as a person at a prompt
      }
      await closePort(port);
    } catch (err) {
      errors++;
      problem = (err as Error).message;
    } finally {
      await context.rt.close();
      await echo.stop();
      await line.close();
    }
    const lines = received.split('\n').filter(Boolean);
    const exact = lines.length === total && lines.every((l, i) => l === `line ${i}`);
    return {
      finished: errors === 0 && lines.length === total, errors, verified: exact && errors === 0,
      detail: `${lines.length} of ${total} lines echoed${exact ? ' once, in order' : ''}, worst echo ${worst.toFixed(0)} ms` + (problem ? `; error: ${problem}` : ''),
    };
  },
};
