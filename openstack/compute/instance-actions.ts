import { Router, type Response } from 'express';
import { OsError } from '../errors.ts';
import { run } from '../graphql.ts';
import { ctxOf, route } from '../http.ts';
import { allow } from '../policy.ts';
import { atLeast } from './microversion.ts';

interface ActionNode {
  action: string;
  requestId: string;
  userId: string | null;
  message: string | null;
  state: string;
  startedAt: string;
  finishedAt: string | null;
  events: { event: string; result: string; startedAt: string; finishedAt: string | null; host: string | null; details: string | null }[];
}

/** Orrery's action names where Nova's instance_actions differ (nova/compute/instance_actions.py). */
const NOVA_NAMES: Record<string, string> = {
  snapshot: 'createImage', 'confirm-resize': 'confirmResize', 'revert-resize': 'revertResize',
  'live-migrate': 'live-migration', 'reboot-hard': 'reboot', 'reboot-soft': 'reboot',
  'attach-interface': 'attach_interface', 'detach-interface': 'detach_interface',
};

// Nova's event results: null while it runs.
const RESULTS: Record<string, string> = { success: 'Success', error: 'Error' };

async function actions(res: Response, id: string): Promise<{ projectId: string; actions: ActionNode[] }> {
  const d = await run<{ instance: { projectId: string; actions: ActionNode[] } | null }>(ctxOf(res),
    `query($id: ID!) { instance(id: $id) { projectId actions { action requestId userId message state startedAt finishedAt
      events { event result startedAt finishedAt host details } } } }`, { id });
  if (!d.instance) throw new OsError(404, `Instance ${id} could not be found.`);
  return d.instance;
}

function view(res: Response, id: string, projectId: string, a: ActionNode) {
  return {
    action: NOVA_NAMES[a.action] ?? a.action,
    instance_uuid: id,
    request_id: a.requestId,
    user_id: a.userId,
    project_id: projectId,
    start_time: a.startedAt,
    message: a.state === 'failed' ? (a.message ?? 'Error') : null,
    ...(atLeast(res, 58) ? { updated_at: a.finishedAt ?? a.startedAt } : {}),
  };
}

export function instanceActionRoutes(r: Router): void {
  r.get('/servers/:id/os-instance-actions', allow('os_compute_api:os-instance-actions:list'), route(async (req, res) => {
    const id = String(req.params.id);
    const { projectId, actions: rows } = await actions(res, id);
    // Newest first, as Nova lists them.
    res.json({ instanceActions: [...rows].sort((a, b) => b.startedAt.localeCompare(a.startedAt)).map((a) => view(res, id, projectId, a)) });
  }));
  r.get('/servers/:id/os-instance-actions/:requestId', allow('os_compute_api:os-instance-actions:show'), route(async (req, res) => {
    const id = String(req.params.id);
    const { projectId, actions: rows } = await actions(res, id);
    const a = rows.find((x) => x.requestId === req.params.requestId);
    if (!a) throw new OsError(404, `Action for request_id ${req.params.requestId} on instance ${id} not found`);
    res.json({ instanceAction: {
      ...view(res, id, projectId, a),
      events: a.events.map((e) => ({
        event: e.event, start_time: e.startedAt, finish_time: e.finishedAt, result: RESULTS[e.result] ?? null,
        traceback: null, ...(atLeast(res, 62) ? { host: e.host, hostId: '' } : {}), ...(atLeast(res, 84) ? { details: e.details } : {}),
      })),
    } });
  }));
}
