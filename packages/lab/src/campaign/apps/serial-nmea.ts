/**
 * Serial: a GPS reader (@serialport/parser-readline) following an NMEA log replayed at 115200
 * baud onto the far end of a pty pair, through the shadowed serialport binding; the fault hits
 * the driver after the first sentences, while the receiver keeps talking. Verified: every
 * sentence arrived once, in order, with a valid checksum.
 */
import { ReadlineParser } from '@serialport/parser-readline';
import { gpsLog, nmeaValid, replay } from '../../apps/serial/nmea.js';
import type { CampaignApp } from './context.js';
import { until } from './dataset.js';
import { cable, closePort, openPort } from './serial-ports.js';

const BAUD = 115200;

export const serialNmeaApp: CampaignApp = {
  name: 'serial-nmea', className: 'serial', realTools: true, nativeCode: true,
  paperRow: 'serial: a GPS receiver\'s NMEA sentences read line by line',
  async run(context) {
    const line = await cable();
    const log = gpsLog(40 + Math.round(300 * (context.scale ?? 1)));
    const received: string[] = [];
    let errors = 0;
    let problem = '';
    try {
      const port = await openPort(context, line.near, BAUD);
      port.on('error', (err) => { errors++; problem = err.message; });
      port.pipe(new ReadlineParser({ delimiter: '\r\n', encoding: 'latin1' })).on('data', (l: string) => received.push(l));
      const gps = replay(line.far, log, BAUD);
      try {
        await until(() => received.length >= 40, 10_000);
        await context.inject();
        await Promise.race([gps.done, new Promise((r) => setTimeout(r, 60_000))]);
        // The reader catches up, or stops getting anything for 5 s.
        for (let seen = -1; received.length < log.length && received.length > seen;) {
          seen = received.length;
          await until(() => received.length >= log.length || received.length > seen, 5000);
        }
      } finally {
        gps.close();
      }
      await closePort(port);
    } catch (err) {
      errors++;
      problem = (err as Error).message;
    } finally {
      await context.rt.close();
      await line.close();
    }
    const exact = received.length === log.length && received.every((l, i) => l === log[i]);
    const valid = received.filter(nmeaValid).length;
    return {
      finished: errors === 0, errors, verified: exact && errors === 0,
      detail: `${received.length} of ${log.length} sentences, ${exact ? 'each once and in order' : 'not the log'}, ${valid} with valid checksums` +
        (problem ? `; error: ${problem}` : ''),
    };
  },
};
