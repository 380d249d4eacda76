import { Router, type Response } from 'express';
import { validBody } from '../validate.ts';
import { OsError } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { ctxOf, route, userOf } from '../http.ts';
import { allow } from '../policy.ts';
import { atLeast } from './microversion.ts';

const KEYPAIR = 'id name publicKey fingerprint type createdAt';

interface KeyPairNode {
  id: string;
  name: string;
  publicKey: string;
  fingerprint: string;
  type: string;
  createdAt: string;
  privateKey?: string | null;
}

/** nova/api/openstack/compute/schemas/keypairs.py (2.10: user_id is admins' business, not carried here). */
const createKeypairSchema = {
  $id: 'openstack/compute/keypair-create',
  type: 'object',
  required: ['keypair'],
  properties: {
    keypair: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9 _.@-]+$' },
        public_key: { type: 'string' },
        type: { enum: ['ssh', 'x509'] },
        user_id: { type: 'string' },
      },
    },
  },
} as const;

function view(res: Response, k: KeyPairNode) {
  return { name: k.name, public_key: k.publicKey, fingerprint: k.fingerprint, ...(atLeast(res, 2) ? { type: k.type } : {}) };
}

async function keyPairs(res: Response): Promise<KeyPairNode[]> {
  return (await run<{ keyPairs: KeyPairNode[] }>(ctxOf(res), `{ keyPairs { ${KEYPAIR} } }`)).keyPairs;
}

export function keypairRoutes(r: Router): void {
  r.get('/os-keypairs', allow('os_compute_api:os-keypairs:index'), route(async (_req, res) => {
    res.json({ keypairs: (await keyPairs(res)).map((k) => ({ keypair: view(res, k) })) });
  }));
  r.get('/os-keypairs/:name', allow('os_compute_api:os-keypairs:show'), route(async (req, res) => {
    const k = (await keyPairs(res)).find((x) => x.name === req.params.name);
    if (!k) throw new OsError(404, `Keypair ${req.params.name} not found for user ${userOf(res).userId}`);
    res.json({ keypair: { ...view(res, k), id: k.id, user_id: userOf(res).userId, created_at: k.createdAt, deleted: false, deleted_at: null, updated_at: null } });
  }));
  r.post('/os-keypairs', allow('os_compute_api:os-keypairs:create'), route(async (req, res) => {
    const { keypair } = validBody<{ keypair: { name: string; public_key?: string } }>(createKeypairSchema, req.body);
    const d = await run<{ createKeyPair: Record<string, unknown> }>(ctxOf(res),
      `mutation($i: KeyPairInput!) { createKeyPair(input: $i) { ${ERROR_FIELDS} ... on CreateKeyPairSuccess { keyPair { ${KEYPAIR} privateKey } } } }`,
      { i: { name: keypair.name, ...(keypair.public_key ? { publicKey: keypair.public_key } : {}) } });
    const k = unwrap<{ keyPair: KeyPairNode }>(d.createKeyPair).keyPair;
    res.status(atLeast(res, 2) ? 201 : 200).json({
      keypair: { ...view(res, k), user_id: userOf(res).userId, ...(k.privateKey ? { private_key: k.privateKey } : {}) },
    });
  }));
  r.delete('/os-keypairs/:name', allow('os_compute_api:os-keypairs:delete'), route(async (req, res) => {
    const d = await run<{ deleteKeyPair: Record<string, unknown> }>(ctxOf(res),
      `mutation($n: String!) { deleteKeyPair(name: $n) { ${ERROR_FIELDS} } }`, { n: String(req.params.name) });
    unwrap(d.deleteKeyPair);
    res.status(atLeast(res, 2) ? 204 : 202).end();
  }));
}
