/**
 * Real NBD servers (nbdkit, qemu-nbd) on a unix socket, started by tests and fault campaigns:
 * the disk behind the `nbd` driver. `start` resolves once the server accepts connections; `stop` kills it and
 * waits for it to be gone, so nothing outlives the test (nbdkit also runs with
 * --exit-with-parent, in case the test process itself dies).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export class NbdServer {
  readonly socket: string;
  readonly uri: string;
  readonly command: string;
  readonly args: string[];
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = '';

  /** A server whose socket is `name.sock` in `dir`; `args` builds its arguments from the socket's path. */
  constructor(dir: string, name: string, command: string, args: (socket: string) => string[]) {
    this.socket = join(dir, `${name}.sock`);
    this.uri = `nbd+unix:///?socket=${this.socket}`;
    this.command = command;
    this.args = args(this.socket);
  }

  async start(): Promise<this> {
    // A SIGKILLed nbdkit leaves its socket behind, and a new one will not bind over it.
    rmSync(this.socket, { force: true });
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    child.stderr!.on('data', (chunk: Buffer) => { this.#stderr += chunk.toString(); });
    let gone = false;
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => { gone = true; resolve(); });
      // A spawn failure (ENOENT) emits 'error' and, having no process, never 'exit'.
      child.once('error', (error) => { this.#stderr ||= error.message; gone = true; resolve(); });
    });
    const deadline = Date.now() + 10_000;
    while (!existsSync(this.socket) && !gone) {
      if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`${this.command} did not listen within 10 s: ${this.#stderr}`); }
      await new Promise((r) => setTimeout(r, 5));
    }
    if (gone) throw new Error(`${this.command} ${this.args.join(' ')} exited: ${this.#stderr}`);
    return this;
  }

  async stop(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
    this.#child = undefined;
    rmSync(this.socket, { force: true });
  }
}

/** nbdkit in the foreground with `plugin` and its arguments (`memory 64M`, `file PATH`, filters). */
export const nbdkit = (dir: string, name: string, args: string[]) =>
  new NbdServer(dir, name, 'nbdkit', (socket) => ['--foreground', '--exit-with-parent', '-U', socket, ...args]);

/**
 * nbdkit's option for one thread per connection, for tests that kill the driver (the client)
 * dozens of times: with several threads, nbdkit 1.32 can abort (`raw_send_socket: Assertion
 * 'sock >= 0' failed`) when a client vanishes with requests in flight, and with the server
 * gone no recovery can reconnect.
 */
export const ONE_THREAD = '--threads=1';
