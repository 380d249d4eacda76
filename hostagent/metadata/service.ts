import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { metadataHttp } from '../../core/metadata/tree.ts';
import type { Assignments } from '../api.ts';
import { NETWORK_HEADER, SOURCE_IP_HEADER, SOURCE_MAC_HEADER } from './proxy-headers.ts';
import { metadataSource } from './source.ts';

/**
 * Nova's metadata API on each compute node: answers the service namespaces' proxies on a unix
 * socket, for the guest whose port sent the request — found in the agent's current view by network,
 * fixed address and MAC, so a guest reads only its own metadata, whatever addresses other projects
 * use. Everything comes from the view the agent already holds: no call to the control plane.
 */
export class MetadataService {
  private server?: Server;

  constructor(
    private readonly socketPath: string,
    private readonly view: () => Assignments | null,
  ) {}

  async start(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = createServer((req, res) => {
      const answer = this.answer(req);
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      res.end(req.method === 'HEAD' ? undefined : answer.body);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.socketPath, resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private answer(req: IncomingMessage): { status: number; contentType: string; body: Buffer | string } {
    if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, contentType: 'text/plain', body: 'only GET\n' };
    const view = this.view();
    const networkId = req.headers[NETWORK_HEADER];
    const ip = req.headers[SOURCE_IP_HEADER];
    const mac = req.headers[SOURCE_MAC_HEADER];
    const net = view?.networks.find((n) => n.id === networkId);
    const port = net?.ports.find((p) => p.mac.toLowerCase() === mac && p.fixedIps.some((a) => a.ip === ip));
    const inst = port && view!.instances.find((i) => i.id === port.instanceId && !i.deleted);
    if (!inst) return { status: 404, contentType: 'text/plain', body: 'no instance of this host has that address\n' };
    return metadataHttp(metadataSource(inst, view!.networks), req.url ?? '/');
  }
}
