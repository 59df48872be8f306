/** `shadowd`: the command line of the runtime. */
import { Command, InvalidArgumentError } from 'commander';

const program = new Command();
program.name('shadowd').description('Shadow drivers for Node.js: applications keep running when drivers fail.');

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

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
