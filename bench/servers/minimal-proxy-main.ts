import type { AddressInfo } from 'node:net';
import { startSimulator } from '../../local/simulator/index.ts';
import { createMinimalProxy, type ProxyClient } from '../minimal-proxy.ts';

/**
 * The minimal proxy as its own process, in front of UPSTREAM_ORIGIN with UPSTREAM_AUTHORIZATION,
 * forwarding with PROXY_CLIENT (`fetch`, the default, or `node:http`); or, with EMBED_SIMULATOR=1, in front of a simulator in its own process (the shape of
 * `npm start`'s default, where the simulator shares the gateway's process).
 */
let origin = process.env.UPSTREAM_ORIGIN ?? '';
let authorization = process.env.UPSTREAM_AUTHORIZATION ?? '';
if (process.env.EMBED_SIMULATOR === '1') {
  authorization = `Bearer sim_${crypto.randomUUID()}`;
  const simulator = await startSimulator({ apiKey: authorization.slice('Bearer '.length) });
  origin = new URL(simulator.baseUrl).origin;
}
const server = createMinimalProxy(
  origin,
  authorization,
  (process.env.PROXY_CLIENT ?? 'fetch') as ProxyClient,
);
server.listen(0, '127.0.0.1', () => {
  console.log(
    `minimal proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  );
});
process.once('SIGTERM', () => process.exit(0));
