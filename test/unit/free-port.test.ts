/**
 * `freePort` hands a port to another process, so it must not come from the kernel's ephemeral range:
 * there the kernel may reuse it for an outgoing connection before the child binds it.
 */

import fs from 'node:fs';
import net from 'node:net';
import { freePort } from '../../src/db/embedded-postgres';

const listen = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

test('ports come from below the ephemeral range, are bindable, and are not ones already taken', async () => {
  const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port).toBeLessThan(low);
  }
  const held = await Promise.all([...new Set(ports)].map(listen));
  try {
    // With every one of them held, new choices must avoid all of them.
    const more = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(more.filter((port) => ports.includes(port))).toEqual([]);
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
});
