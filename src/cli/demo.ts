export interface DemoOptions { duration: number; domain: string; faultInterval: number; seed?: number }
export async function runDemo(_options: DemoOptions): Promise<number> {
  console.error('demo: not written yet');
  return 1;
}
