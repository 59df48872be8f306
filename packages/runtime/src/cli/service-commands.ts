/**
 * `shadowd run` and the verbs that operate it through its control socket: status, inject,
 * restart, detach, attach, events, reload. Where the socket is: --control PATH, else the
 * config's `control` (when --config names the file), else ./shadowd.sock.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { faultKinds } from '../faults/fault-kinds.js';

const controlOption = () => new Option('--control <path>', 'the service\'s control socket (default: the config\'s control, else ./shadowd.sock)');
const configOption = () => new Option('--config <file>', 'read the control socket\'s path from this config file');

async function controlPath(options: { control?: string; config?: string }): Promise<string> {
  if (options.control) return resolve(options.control);
  if (options.config) {
    const { loadConfig } = await import('../service/config-load.js');
    return resolve(loadConfig(options.config).control ?? 'shadowd.sock');
  }
  return resolve('shadowd.sock');
}

async function send(options: { control?: string; config?: string }, body: import('../service/control-protocol.js').ControlRequest): Promise<unknown> {
  const { call } = await import('../service/control-client.js');
  return call(await controlPath(options), body);
}

export function addServiceCommands(program: Command): void {
  program.command('run')
    .description('run the devices a config file declares (YAML or JSON) as a service until SIGTERM; without CONFIG, a ram disk on ./disk0.sock')
    .argument('[config]', 'the config file (see docs/operations.md)')
    .option('--check', 'validate the config and exit (0 when valid)')
    .addOption(controlOption())
    .action(async (config: string | undefined, options: { check?: boolean; control?: string }) => {
      const { runService } = await import('../service/run.js');
      process.exitCode = await runService(config, options);
    });

  program.command('status')
    .description('each device: class, driver, domain, pid, state, uptime, requests, recoveries by cause, last failure, in-flight, quarantined, standby')
    .option('--json', 'print JSON')
    .addOption(controlOption()).addOption(configOption())
    .action(async (options: { json?: boolean; control?: string; config?: string }) => {
      const result = await send(options, { verb: 'status' }) as import('../service/status.js').DeviceStatus[];
      if (options.json) { console.log(JSON.stringify(result, null, 2)); return; }
      const { statusTable } = await import('../service/status.js');
      console.log(statusTable(result));
    });

  program.command('inject')
    .description(`a fault drill: inject a fault into DEVICE's driver (needs faultDrills: true in the config)`)
    .argument('<device>', 'the device')
    .addArgument(new Command().createArgument('<kind>', 'the fault kind').choices(faultKinds))
    .addOption(controlOption()).addOption(configOption())
    .action(async (device: string, kind: string, options: { control?: string; config?: string }) => {
      await send(options, { verb: 'inject', device, kind });
      console.log(`injected ${kind} into ${device}`);
    });

  for (const [verb, what] of [['restart', 'a planned recovery of DEVICE\'s driver (clients see a pause)'],
    ['detach', 'stop serving DEVICE (it stays in the config)'], ['attach', 'serve a detached DEVICE again']] as const) {
    program.command(verb).description(what).argument('<device>', 'the device')
      .addOption(controlOption()).addOption(configOption())
      .action(async (device: string, options: { control?: string; config?: string }) => {
        await send(options, { verb, device });
        console.log(`${verb === 'attach' ? 'attached' : verb === 'detach' ? 'detached' : 'restarting'} ${device}`);
      });
  }

  program.command('update')
    .description('a live update: replace DEVICE\'s driver with another version while clients keep going (rolled back by itself if it fails)')
    .argument('<device>', 'the device')
    .requiredOption('--driver <path>', 'the new version: a driver module path, or a catalogue name')
    .option('--force', 'try a version that rolled back before')
    .option('--probation-ms <ms>', 'how long the new version is on probation (default 10000, or 100 requests first)', Number)
    .addOption(controlOption()).addOption(configOption())
    .action(async (device: string, options: { driver: string; force?: boolean; probationMs?: number; control?: string; config?: string }) => {
      // A path names a file here, where the operator is, not where the service runs.
      const driver = options.driver.includes('/') || options.driver.endsWith('.js') ? resolve(options.driver) : options.driver;
      const report = await send(options, { verb: 'update', device, driver, force: options.force === true, probationMs: options.probationMs }) as import('../index.js').UpdateReport;
      if (report.outcome === 'switched') console.log(`updated ${device}: ${report.from} -> ${report.to} (pause ${report.pauseMs?.toFixed(1)} ms)`);
      else { console.log(`rolled back ${device} to ${report.from}: ${report.to} failed in ${report.failedIn}: ${report.cause}`); process.exitCode = 1; }
    });

  program.command('reload').description('reload the config file (as SIGHUP does)')
    .addOption(controlOption()).addOption(configOption())
    .action(async (options: { control?: string; config?: string }) => console.log(JSON.stringify(await send(options, { verb: 'reload' }))));

  program.command('events')
    .description('the failure, recovery, quarantine, give-up, attach and detach events (JSON lines)')
    .option('--follow', 'keep printing events as they happen')
    .addOption(controlOption()).addOption(configOption())
    .action(async (options: { follow?: boolean; control?: string; config?: string }) => {
      const { request } = await import('../service/control-client.js');
      await request(await controlPath(options), { verb: 'events', follow: options.follow }, (reply) => {
        if ('ok' in reply && reply.ok) for (const e of reply.result as unknown[]) console.log(JSON.stringify(e));
        else if ('event' in reply) console.log(JSON.stringify(reply.event));
        return options.follow === true;
      });
    });
}
