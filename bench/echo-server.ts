/**
 * The baseline peer of the RPC benchmark: a raw TCP server that writes every
 * chunk it reads straight back. A round trip through it is the cost of the
 * kernel, the loopback and two Node event loops, with no protocol at all, so
 * `calls/s ÷ echo round trips/s` says how much the STOMP and JSON-RPC layers
 * cost on top.
 *
 * Run as its own process (`node --import tsx bench/echo-server.ts`) so it has
 * a core to itself, as fake-vdsm does. Prints one JSON line when ready,
 * `{"host":"127.0.0.1","port":N}`, and exits on SIGINT/SIGTERM or when its
 * stdin closes (so a crashed parent never leaves it behind).
 */
import { createServer } from 'node:net';

const server = createServer((socket) => {
  // Same socket options as the STOMP channels, so the baseline is not
  // slowed by Nagle where the real path is not.
  socket.setNoDelay(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('echo server: no TCP address');
  process.stdout.write(`${JSON.stringify({ host: address.address, port: address.port })}\n`);
});

const stop = (): void => {
  server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
