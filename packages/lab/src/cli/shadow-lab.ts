/** `shadow-lab`: the lab that evaluates the runtime: the demo, the bench and the fault campaign. */
import { Command, InvalidArgumentError, Option } from 'commander';

const program = new Command();
program.name('shadow-lab').description('The Shadow lab: a demo, benchmarks and fault campaigns against the shadow-drivers runtime.');

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** A count: a whole number from `min` on (a typo like `--jobs abc` must not become NaN). */
function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number from ${min} on`);
    return n;
  };
}

program.command('demo')
  .description('checksummed data sets, a SQLite bank and a userspace ext4 on shadowed ram and file disks, and frames across a switch of virtual NICs, verified while faults of every kind are injected')
  .option('--duration <seconds>', 'how long to run', positive, 60)
  .addOption(new Option('--domain <kind>', 'isolation domain of the drivers').choices(['worker', 'process']).default('worker'))
  .option('--fault-interval <ms>', 'mean time between injected faults per disk', positive, 1000)
  .option('--seed <n>', 'seed of the fault schedule', positive)
  .option('--dashboard', 'serve the live dashboard on the demo\'s devices (prints its URL)')
  .option('--dashboard-port <n>', 'the dashboard\'s port on 127.0.0.1 (default: a free one)', positive)
  .action(async (options) => {
    const { runDemo } = await import('./demo.js');
    process.exitCode = await runDemo(options);
  });

program.command('bench')
  .description('throughput in-process vs isolated vs isolated+shadow (block, NBD copies, SQLite, network), and recovery times')
  .option('--quick', 'a short run (smoke test of the benchmark itself)')
  .option('--only <sections>', 'comma-separated: throughput, nbd, sqlite, network, iperf, recovery, update, sound, service, scale')
  .option('--out <file>', 'append the results to this Markdown file', '')
  .action(async (options) => {
    const { runBench } = await import('./bench.js');
    process.exitCode = await runBench(options);
  });

program.command('campaign')
  .description('fault campaign: every application under native, restart-only and shadow recovery, fail-stop, soak and mutation faults')
  .option('--quick', 'the short campaign CI runs')
  .option('--results <file>', 'JSON lines of trial results; resumes from it', 'campaign-results.jsonl')
  .option('--out <file>', 'write the Markdown report here (and its JSON and recovery plot beside it)')
  .option('--apps <names>', 'comma-separated applications (default: all)')
  .option('--only <parts>', 'comma-separated parts of the plan: fail-stop, soak, mutation-transient, mutation, device (default: all)')
  .option('--mutations <n>', 'mutation trials per application', integer(0))
  .option('--jobs <n>', 'trials run at once, each in a process of its own', integer(1), 1)
  .option('--report-only', 'run nothing: render the report from every trial in the results file (to combine runs, concatenate their files)')
  .action(async (options) => {
    const { runCampaignCli } = await import('./campaign.js');
    process.exitCode = await runCampaignCli(options);
  });

// Whatever escapes a command (a file that cannot be written, say) is one line and exit 1, not a stack trace.
await program.parseAsync(process.argv).catch((err: Error & { code?: string }) => {
  console.error(`shadow-lab: ${err.message}${err.code ? ` (${err.code})` : ''}`);
  process.exitCode = 1;
});
