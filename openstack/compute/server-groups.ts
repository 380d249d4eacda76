import { Router, type Request, type Response } from 'express';
import { validBody } from '../validate.ts';
import { OsError } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { ctxOf, route, userOf } from '../http.ts';
import { allow } from '../policy.ts';
import { atLeast } from './microversion.ts';

const GROUP = 'id name policy projectId rules { maxServerPerHost } members { instanceId }';

interface GroupNode {
  id: string;
  name: string;
  policy: string;
  projectId: string;
  rules: { maxServerPerHost: number | null };
  members: { instanceId: string }[];
}

const policyName = { enum: ['affinity', 'anti-affinity', 'soft-affinity', 'soft-anti-affinity'] } as const;

/** nova/api/openstack/compute/schemas/server_groups.py: `policies` before 2.64, `policy` and `rules` from it. */
const createGroupSchema = {
  $id: 'openstack/compute/server-group-create',
  type: 'object',
  required: ['server_group'],
  properties: {
    server_group: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 255 },
        policy: policyName,
        policies: { type: 'array', minItems: 1, maxItems: 1, items: policyName },
        rules: { type: 'object', additionalProperties: false, properties: { max_server_per_host: { type: ['integer', 'string'], pattern: '^[0-9]+$' } } },
      },
    },
  },
} as const;

interface CreateGroupBody {
  server_group: { name: string; policy?: string; policies?: string[]; rules?: { max_server_per_host?: number | string } };
}

function view(res: Response, g: GroupNode) {
  const policy = g.policy.replace(/_/g, '-');
  const members = g.members.map((m) => m.instanceId);
  const common = { id: g.id, name: g.name, members, project_id: g.projectId, user_id: userOf(res).userId };
  if (!atLeast(res, 64)) return { ...common, policies: [policy], metadata: {} };
  return { ...common, policy, rules: g.rules.maxServerPerHost === null ? {} : { max_server_per_host: g.rules.maxServerPerHost } };
}

export function serverGroupRoutes(r: Router): void {
  r.get('/os-server-groups', allow('os_compute_api:os-server-groups:index'), route(async (req: Request, res) => {
    const all = req.query.all_projects === 'True' || req.query.all_projects === 'true' || req.query.all_projects === '1';
    const d = await run<{ serverGroups: GroupNode[] }>(ctxOf(res), `query($all: Boolean) { serverGroups(allProjects: $all) { ${GROUP} } }`, { all });
    res.json({ server_groups: d.serverGroups.map((g) => view(res, g)) });
  }));
  r.get('/os-server-groups/:id', allow('os_compute_api:os-server-groups:show'), route(async (req, res) => {
    const d = await run<{ serverGroup: GroupNode | null }>(ctxOf(res), `query($ref: String!) { serverGroup(ref: $ref) { ${GROUP} } }`, { ref: String(req.params.id) });
    if (!d.serverGroup) throw new OsError(404, `Instance group ${req.params.id} could not be found.`);
    res.json({ server_group: view(res, d.serverGroup) });
  }));
  r.post('/os-server-groups', allow('os_compute_api:os-server-groups:create'), route(async (req, res) => {
    const g = validBody<CreateGroupBody>(createGroupSchema, req.body).server_group;
    const policy = g.policy ?? g.policies?.[0];
    if (!policy) throw new OsError(400, `server_group.${atLeast(res, 64) ? 'policy' : 'policies'} is required`);
    const max = g.rules?.max_server_per_host;
    const d = await run<{ createServerGroup: Record<string, unknown> }>(ctxOf(res),
      `mutation($i: ServerGroupInput!) { createServerGroup(input: $i) { ${ERROR_FIELDS} ... on CreateServerGroupSuccess { serverGroup { ${GROUP} } } } }`,
      { i: { name: g.name, policy: policy.replace(/-/g, '_'), ...(max !== undefined ? { maxServerPerHost: Number(max) } : {}) } });
    res.json({ server_group: view(res, unwrap<{ serverGroup: GroupNode }>(d.createServerGroup).serverGroup) });
  }));
  r.delete('/os-server-groups/:id', allow('os_compute_api:os-server-groups:delete'), route(async (req, res) => {
    const d = await run<{ deleteServerGroup: Record<string, unknown> }>(ctxOf(res),
      `mutation($ref: String!) { deleteServerGroup(ref: $ref) { ${ERROR_FIELDS} } }`, { ref: String(req.params.id) });
    unwrap(d.deleteServerGroup);
    res.status(204).end();
  }));
}
