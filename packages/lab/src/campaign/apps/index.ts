/** The applications a campaign runs, by name. */
import { analyzerApp } from './analyzer.js';
import { bankApp } from './bank.js';
import { compilerApp } from './compiler.js';
import type { CampaignApp } from './context.js';
import { databaseApp } from './database.js';
import { datasetApp } from './dataset.js';
import { encoderApp } from './encoder.js';
import { fileTransferApp } from './file-transfer.js';
import { framesApp } from './frames.js';
import { gameSfxApp } from './game-sfx.js';
import { mp3PlayerApp } from './mp3-player.js';
import { recorderApp } from './recorder.js';
import { remoteSessionApp } from './remote-session.js';
import { serialModbusApp } from './serial-modbus.js';
import { serialNmeaApp } from './serial-nmea.js';
import { serialSessionApp } from './serial-session.js';
import { speechApp } from './speech.js';
import { streamApp } from './stream.js';

export const campaignApps: Record<string, CampaignApp> = Object.fromEntries(
  [datasetApp, bankApp, framesApp, streamApp, compilerApp, encoderApp, databaseApp,
    mp3PlayerApp, recorderApp, speechApp, gameSfxApp, fileTransferApp, remoteSessionApp, analyzerApp,
    serialModbusApp, serialNmeaApp, serialSessionApp].map((app) => [app.name, app]));

export type { AppContext, CampaignApp } from './context.js';
