import { Router, type Response } from 'express';
import { NotFoundError } from '../../core/errors.ts';
import { validBody } from '../validate.ts';
import { OsError, renamed } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { ctxOf, route } from '../http.ts';
import { allow } from '../policy.ts';
import { atLeast } from './microversion.ts';
import { loadServer } from './servers.ts';

/** nova/api/openstack/compute/schemas/attach_interfaces.py: a network or a port, and at most one fixed IP. */
const attachSchema = {
  $id: 'openstack/compute/interface-attach',
  type: 'object',
  additionalProperties: false,
  properties: {
    interfaceAttachment: {
      type: 'object',
      additionalProperties: false,
      properties: {
        net_id: { type: 'string', minLength: 1, maxLength: 255 },
        port_id: { type: 'string', minLength: 1, maxLength: 255 },
        fixed_ips: {
          type: 'array', minItems: 1, maxItems: 1,
          items: { type: 'object', additionalProperties: false, required: ['ip_address'], properties: { ip_address: { type: 'string' } } },
        },
        tag: { type: 'string', maxLength: 60 },
      },
    },
  },
} as const;

interface AttachBody {
  interfaceAttachment?: { net_id?: string; port_id?: string; fixed_ips?: { ip_address: string }[] };
}

interface PortNode {
  id: string;
  macAddress: string;
  networkId: string;
  status: string;
  fixedIps: { ip: string; subnetId: string }[];
}

const PORT_FIELDS = 'id macAddress networkId status fixedIps { ip subnetId }';

const FIELD_NAMES = {
  'input.network': 'interfaceAttachment.net_id', 'input.port': 'interfaceAttachment.port_id',
  'input.fixedIp': 'interfaceAttachment.fixed_ips.0.ip_address', input: 'interfaceAttachment',
};

/** Nova's interfaceAttachment; `tag` (2.70) stays null, as Orrery keeps no device tags. */
export function interfaceView(res: Response, p: PortNode) {
  return {
    port_id: p.id, mac_addr: p.macAddress, port_state: p.status, net_id: p.networkId,
    fixed_ips: p.fixedIps.map((f) => ({ ip_address: f.ip, subnet_id: f.subnetId })),
    ...(atLeast(res, 70) ? { tag: null } : {}),
  };
}

async function attach(res: Response, instance: string, input: Record<string, unknown>): Promise<PortNode> {
  const d = await run<{ attachInterface: Record<string, unknown> }>(ctxOf(res),
    `mutation($id: ID!, $i: InstanceNicInput!) { attachInterface(instance: $id, input: $i) {
      ${ERROR_FIELDS} ... on AttachInterfaceSuccess { attachment { port { ${PORT_FIELDS} } } } } }`, { id: instance, i: input });
  return unwrap<{ attachment: { port: PortNode } }>(d.attachInterface).attachment.port;
}

export function serverInterfaceRoutes(r: Router): void {
  r.get('/servers/:id/os-interface', allow('os_compute_api:os-attach-interfaces:list'), route(async (req, res) => {
    const server = await loadServer(res, String(req.params.id));
    res.json({ interfaceAttachments: server.ports.map((p) => interfaceView(res, p)) });
  }));
  r.get('/servers/:id/os-interface/:port', allow('os_compute_api:os-attach-interfaces:show'), route(async (req, res) => {
    const server = await loadServer(res, String(req.params.id));
    const port = server.ports.find((p) => p.id === req.params.port);
    if (!port) throw new OsError(404, `Port ${req.params.port} is not attached`);
    res.json({ interfaceAttachment: interfaceView(res, port) });
  }));
  r.post('/servers/:id/os-interface', allow('os_compute_api:os-attach-interfaces:create'), route(async (req, res) => {
    const a = validBody<AttachBody>(attachSchema, req.body).interfaceAttachment ?? {};
    if (a.net_id && a.port_id) throw new OsError(400, 'Must not input both network_id and port_id');
    if (a.fixed_ips && !a.net_id) throw new OsError(400, 'Must input network_id when request IP address');
    const id = (await loadServer(res, String(req.params.id))).id;
    const input = { network: a.net_id, port: a.port_id, fixedIp: a.fixed_ips?.[0]?.ip_address };
    // Nova answers an unknown network or port on attach with 404, where server create says 400.
    const port = await renamed(FIELD_NAMES, () => attach(res, id, input).catch((e: unknown) => {
      throw e instanceof NotFoundError ? new OsError(404, e.message) : e;
    }));
    // As Nova's, the answer comes before the host has plugged the NIC: port_state is what Orrery says now.
    res.json({ interfaceAttachment: interfaceView(res, port) });
  }));
  r.delete('/servers/:id/os-interface/:port', allow('os_compute_api:os-attach-interfaces:delete'), route(async (req, res) => {
    const id = (await loadServer(res, String(req.params.id))).id;
    const d = await run<{ detachInterface: Record<string, unknown> }>(ctxOf(res),
      `mutation($id: ID!, $port: ID!) { detachInterface(instance: $id, port: $port) { ${ERROR_FIELDS} } }`, { id, port: String(req.params.port) });
    unwrap(d.detachInterface);
    res.status(202).end();
  }));
}
