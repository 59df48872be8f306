/** `shadowd`: the command line of the runtime. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { addServiceCommands } from './service-commands.js';
import { blockSizeMultiple, port } from './arguments.js';
import { templateFor } from './templates.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
program.name('shadowd').description('Shadow drivers for Node.js: applications keep running when drivers fail.')
  .version(pkg.version, '-V, --version', 'print the version of shadow-drivers')
  // Every mistake in an option is one line and a non-zero exit (2), never a stack trace.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`shadowd: ${text.replace(/^error: /, '')}`) });

program.command('export')
  .description('serve a shadowed block device over NBD until interrupted (nbdinfo, nbdcopy, qemu-img can use it)')
  .option('--driver <name>', 'block driver: ram or file (or a path to a driver module)', 'ram')
  .option('--path <file>', 'disk image or block device, for the file driver')
  .option('--size <bytes>', 'size of a ram disk: a multiple of 4096 up to 1 TiB', blockSizeMultiple, 64 * 1024 * 1024)
  .addOption(new Option('--domain <kind>', 'isolation domain').choices(['worker', 'process', 'none']).default('worker'))
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'TCP port, 0 to 65535 (default 10809 unless --socket is given)', port)
  .option('--socket <path>', 'unix socket to listen on')
  .option('--read-only', 'export read-only')
  .action(async (options) => {
    const { runExport } = await import('./export.js');
    process.exitCode = await runExport(options);
  });

program.command('new-driver')
  .description('start a new driver from a template: writes driver.ts, manifest.ts and driver.test.ts into <dir>')
  .argument('<class>', 'driver class (block)')
  .argument('<dir>', 'directory to write into (created if absent; existing files are not overwritten)')
  .option('--name <name>', 'the driver\'s name in its manifest (default: the directory\'s name)')
  .action((className: string, dir: string, options: { name?: string }) => {
    const name = options.name ?? basename(resolve(dir));
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new InvalidArgumentError(`--name: driver name ${name} must be letters, digits, ".", "_" or "-"`);
    const files = templateFor(className, name);
    if (!files) {
      console.error(`shadowd: no template for class ${className} (templates: block)`);
      process.exitCode = 2;
      return;
    }
    const clash = files.map((f) => join(dir, f.path)).filter((p) => existsSync(p));
    if (clash.length > 0) {
      console.error(`shadowd: not overwriting ${clash.join(', ')}`);
      process.exitCode = 2;
      return;
    }
    mkdirSync(dir, { recursive: true });
    for (const f of files) {
      writeFileSync(join(dir, f.path), f.text);
      console.log(join(dir, f.path));
    }
    console.log('Compile with tsc (module nodenext), then run the test: node --test driver.test.js. See docs/writing-drivers.md.');
  });

addServiceCommands(program);

/** The one line an error gets: its lines (a config's problems), or `CODE: message`. */
function report(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  const lines = (error as { lines?: string[] }).lines;
  if (Array.isArray(lines)) { for (const line of lines) console.error(`shadowd: ${line}`); return 2; }
  const code = (error as { code?: unknown }).code;
  console.error(`shadowd: ${typeof code === 'string' && code.startsWith('SD_ERR_') ? `${code}: ` : ''}${(error as Error).message ?? String(error)}`);
  return error instanceof InvalidArgumentError ? 2 : 1;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}
