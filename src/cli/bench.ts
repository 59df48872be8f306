export interface BenchOptions { quick?: boolean; out?: string }
export async function runBench(_options: BenchOptions): Promise<number> {
  console.error('bench: not written yet');
  return 1;
}
