import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { METADATA_ADDRESS, NETWORK_HEADER, SOURCE_IP_HEADER, SOURCE_MAC_HEADER } from './proxy-headers.ts';

// Nova's metadata address inside one network's service namespace (Neutron's metadata proxy):
// started there by the agent as `netns-proxy.ts <network id> <agent socket>`, it takes a guest's
// request on 169.254.169.254:80 and hands it to the agent over a unix socket (which crosses
// namespaces), saying which network, source address and source MAC it came from. The guest's
// anti-spoofing filter vouches for the address and MAC; the agent answers for that port only.

/** The MAC this namespace's neighbour table has for an address (what ARP saw the request come from). */
function macOf(ip: string): string {
  for (const line of readFileSync('/proc/net/arp', 'utf8').split('\n').slice(1)) {
    const [addr, , , mac] = line.trim().split(/\s+/);
    if (addr === ip && mac) return mac.toLowerCase();
  }
  return '';
}

const [networkId, socketPath] = process.argv.slice(2);
if (!networkId || !socketPath) throw new Error('usage: netns-proxy.ts <network id> <agent socket>');
const server = createServer((req, res) => {
  const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const upstream = request(
    {
      socketPath,
      method: req.method,
      path: req.url,
      headers: { [NETWORK_HEADER]: networkId, [SOURCE_IP_HEADER]: ip, [SOURCE_MAC_HEADER]: macOf(ip) },
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('metadata service unavailable\n');
  });
  req.pipe(upstream);
});
server.listen(80, METADATA_ADDRESS);
