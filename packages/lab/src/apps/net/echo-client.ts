/**
 * The client side of a remote interactive session (the network tests and campaign), run inside a namespace:
 * `node echo-client.js HOST PORT HZ`. Over one TCP connection it sends small numbered
 * messages at HZ (keystrokes, pointer moves) and reads the echoes; each echo is printed as a
 * JSON line with its round-trip time. An echo out of order, a lost connection or garbage ends
 * it with an error. A line on stdin (or its end) stops the sending; once every message has
 * been echoed it prints a summary and exits 0.
 */
import { connect } from 'node:net';

const [host, port, hz] = process.argv.slice(2);
if (!host || !port || !hz) {
  console.error('usage: echo-client.js HOST PORT HZ');
  process.exit(64);
}

const print = (v: unknown): void => { process.stdout.write(`${JSON.stringify(v)}\n`); };
const fail = (error: string): void => { print({ error }); process.exit(1); };

const socket = connect({ host, port: Number(port) });
socket.setNoDelay(true);
const sentAt: number[] = [];
let next = 0;
let expected = 0;
let stopping = false;
let timer: NodeJS.Timeout | undefined;
let pending = '';

const finish = (): void => {
  print({ done: true, sent: next, echoed: expected });
  socket.end();
};

socket.on('connect', () => {
  print({ connected: true });
  timer = setInterval(() => {
    sentAt[next] = performance.now();
    socket.write(`msg ${next} ${'.'.repeat(24)}\n`);
    next++;
  }, 1000 / Number(hz));
});

socket.setEncoding('utf8').on('data', (chunk: string) => {
  pending += chunk;
  let nl: number;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    const m = /^msg (\d+) \.{24}$/.exec(line);
    if (!m) return fail(`garbled echo ${JSON.stringify(line)}`);
    const seq = Number(m[1]);
    if (seq !== expected) return fail(`echo ${seq} arrived when ${expected} was due`);
    const now = performance.now();
    print({ seq, sent: Math.round(performance.timeOrigin + sentAt[seq]!), ms: Math.round((now - sentAt[seq]!) * 10) / 10 });
    expected++;
  }
  if (stopping && expected === next) finish();
});

socket.on('error', (err) => fail(`connection: ${err.message}`));
socket.on('close', () => { if (!stopping || expected !== next) fail('the connection closed'); else process.exit(0); });

const stop = (): void => {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  if (expected === next) finish();
};
process.stdin.on('data', stop).on('end', stop);
