/** The applications a campaign runs, by name. */
import { bankApp } from './bank.js';
import type { CampaignApp } from './context.js';
import { datasetApp } from './dataset.js';
import { framesApp } from './frames.js';
import { streamApp } from './stream.js';

export const campaignApps: Record<string, CampaignApp> = Object.fromEntries(
  [datasetApp, bankApp, framesApp, streamApp].map((app) => [app.name, app]));

export type { AppContext, CampaignApp } from './context.js';
