/** `shadowd`: the command line of the runtime. */
import { Command, InvalidArgumentError } from 'commander';

const program = new Command();
program.name('shadowd').description('Shadow drivers for Node.js: applications keep running when drivers fail.');

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

program.command('demo')
  .description('applications write and verify checksummed data on shadowed ram and file disks while faults of every kind are injected')
  .option('--duration <seconds>', 'how long to run', positive, 60)
  .option('--domain <kind>', 'isolation domain of the drivers: worker or process', 'worker')
  .option('--fault-interval <ms>', 'mean time between injected faults per disk', positive, 1000)
  .option('--seed <n>', 'seed of the fault schedule', positive)
  .action(async (options) => {
    const { runDemo } = await import('./demo.js');
    process.exitCode = await runDemo(options);
  });

program.command('bench')
  .description('block throughput in-process vs isolated vs isolated+shadow, and recovery times')
  .option('--quick', 'a short run (smoke test of the benchmark itself)')
  .option('--out <file>', 'append the results to this Markdown file', '')
  .action(async (options) => {
    const { runBench } = await import('./bench.js');
    process.exitCode = await runBench(options);
  });

await program.parseAsync(process.argv);
