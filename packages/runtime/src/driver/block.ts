/** What a block driver imports: its entry points, their arguments, and the kernel's services. */
export { BlockCounters, defineBlockDriver, zeroStats, type BlockDriver, type BlockInfo, type BlockOpen, type BlockStats, type BlockCalls, type WriteCache } from '../classes/block/contract.js';
export * from './index.js';
