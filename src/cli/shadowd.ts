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
  .description('checksummed data sets, a SQLite bank and a userspace ext4 on shadowed ram and file disks, and frames across a switch of virtual NICs, verified while faults of every kind are injected')
  .option('--duration <seconds>', 'how long to run', positive, 60)
  .option('--domain <kind>', 'isolation domain of the drivers: worker or process', 'worker')
  .option('--fault-interval <ms>', 'mean time between injected faults per disk', positive, 1000)
  .option('--seed <n>', 'seed of the fault schedule', positive)
  .action(async (options) => {
    const { runDemo } = await import('./demo.js');
    process.exitCode = await runDemo(options);
  });

program.command('bench')
  .description('throughput in-process vs isolated vs isolated+shadow (block, NBD copies, SQLite, network), and recovery times')
  .option('--quick', 'a short run (smoke test of the benchmark itself)')
  .option('--only <sections>', 'comma-separated: throughput, nbd, sqlite, network, iperf, recovery, sound')
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
  .option('--mutations <n>', 'mutation trials per application')
  .option('--jobs <n>', 'trials run at once, each in a process of its own', '1')
  .action(async (options) => {
    const { runCampaignCli } = await import('./campaign.js');
    process.exitCode = await runCampaignCli(options);
  });

program.command('export')
  .description('serve a shadowed block device over NBD until interrupted (nbdinfo, nbdcopy, qemu-img can use it)')
  .option('--driver <name>', 'block driver: ram or file (or a path to a driver module)', 'ram')
  .option('--path <file>', 'disk image or block device, for the file driver')
  .option('--size <bytes>', 'size of a ram disk', positive, 64 * 1024 * 1024)
  .option('--domain <kind>', 'isolation domain: worker or process', 'worker')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'TCP port (default 10809 unless --socket is given)', positive)
  .option('--socket <path>', 'unix socket to listen on')
  .option('--read-only', 'export read-only')
  .action(async (options) => {
    const { runExport } = await import('./export.js');
    process.exitCode = await runExport(options);
  });

await program.parseAsync(process.argv);
