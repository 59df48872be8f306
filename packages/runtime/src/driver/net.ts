/** What a network driver imports: its entry points, their arguments, and the kernel's services. */
export { defineNetDriver, NetCounters, zeroNetStats, type NetDriver, type NetInfo, type NetStats, type LinkState, type NetCalls, type NetUpcalls, type Offload } from '../classes/net/contract.js';
export * from './index.js';
