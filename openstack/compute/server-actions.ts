import { Router, type Response } from 'express';
import { operationRefusal, type GuardedOperation } from '../../core/operation-guards.ts';
import type { VmState } from '../../core/instance-status.ts';
import { validBody } from '../validate.ts';
import { OsError } from '../errors.ts';
import { ERROR_FIELDS, run, unwrap } from '../graphql.ts';
import { ctxOf, publicBase, route } from '../http.ts';
import { allowed, type RuleName } from '../policy.ts';
import { ACTION_SCHEMAS, actionSchema, remoteConsoleSchema, type ActionName } from './action-schemas.ts';
import { atLeast } from './microversion.ts';
import { loadServer, updateInstance } from './servers.ts';
import { serverDetail, type ServerNode } from './server-view.ts';

type Body = Record<string, Record<string, unknown> | null>;
interface Answer {
  status: number;
  body?: object;
  headers?: Record<string, string>;
}

/**
 * Nova's power actions are imperative: each starts from one state, and asking for the state that
 * already holds is a 409, where GraphQL's declarative powerState accepts it and changes nothing.
 * The state rules themselves are Orrery's (operationRefusal); Nova narrows which state each
 * "back to running" verb leaves (unpause from PAUSED only, resume from SUSPENDED only).
 */
const POWER: Partial<Record<ActionName, { to: 'running' | 'stopped' | 'paused' | 'suspended'; guard: GuardedOperation; from?: VmState }>> = {
  'os-start': { to: 'running', guard: 'start', from: 'stopped' },
  unpause: { to: 'running', guard: 'start', from: 'paused' },
  resume: { to: 'running', guard: 'start', from: 'suspended' },
  'os-stop': { to: 'stopped', guard: 'stop' },
  pause: { to: 'paused', guard: 'pause' },
  suspend: { to: 'suspended', guard: 'suspend' },
};

const RULE: Record<ActionName, RuleName> = {
  'os-start': 'os_compute_api:servers:start',
  'os-stop': 'os_compute_api:servers:stop',
  pause: 'os_compute_api:os-pause-server:pause',
  unpause: 'os_compute_api:os-pause-server:unpause',
  suspend: 'os_compute_api:os-suspend-server:suspend',
  resume: 'os_compute_api:os-suspend-server:resume',
  lock: 'os_compute_api:os-lock-server:lock',
  unlock: 'os_compute_api:os-lock-server:unlock',
  reboot: 'os_compute_api:servers:reboot',
  shelve: 'os_compute_api:os-shelve:shelve',
  shelveOffload: 'os_compute_api:os-shelve:shelve_offload',
  unshelve: 'os_compute_api:os-shelve:unshelve',
  resize: 'os_compute_api:servers:resize',
  confirmResize: 'os_compute_api:servers:confirm_resize',
  revertResize: 'os_compute_api:servers:revert_resize',
  migrate: 'os_compute_api:os-migrate-server:migrate',
  'os-migrateLive': 'os_compute_api:os-migrate-server:migrate_live',
  evacuate: 'os_compute_api:os-evacuate',
  rescue: 'os_compute_api:os-rescue',
  unrescue: 'os_compute_api:os-unrescue',
  rebuild: 'os_compute_api:servers:rebuild',
  createImage: 'os_compute_api:servers:create_image',
  'os-getConsoleOutput': 'os_compute_api:os-console-output',
  'os-getVNCConsole': 'os_compute_api:os-remote-consoles',
  'os-getSerialConsole': 'os_compute_api:os-remote-consoles',
};

/** The GraphQL types of the operation mutations' arguments, by name. */
const ARG_TYPES: Record<string, string> = { id: 'ID!', instance: 'ID!', hard: 'Boolean', host: 'String', zone: 'String', image: 'String', name: 'String!', type: 'ConsoleType!' };

const refOf = (ref: string) => ref.replace(/\/+$/, '').split('/').pop()!;

/** An Orrery operation mutation on one instance; its typed refusal becomes Nova's status. */
async function operation(res: Response, field: string, args: Record<string, unknown>, select = '') {
  const params = Object.keys(args).map((k) => `$${k}: ${ARG_TYPES[k]}`).join(', ');
  const call = Object.keys(args).map((k) => `${k}: $${k}`).join(', ');
  const d = await run<Record<string, Record<string, unknown>>>(ctxOf(res), `mutation(${params}) { ${field}(${call}) { ${ERROR_FIELDS} ${select} } }`, args);
  return unwrap<Record<string, unknown>>(d[field]!);
}

function checkPower(action: ActionName, s: ServerNode): void {
  const p = POWER[action]!;
  const state = { name: s.name, vm_state: s.vmState as VmState, task_state: s.taskState, host_id: s.hostId, delete_requested_at: s.deleting ? new Date() : null };
  const refusal = p.from && s.vmState !== p.from
    ? `Cannot '${action}' instance ${s.id} while it is in vm_state ${s.vmState}`
    : operationRefusal(p.guard, state);
  if (refusal) throw new OsError(409, `Cannot '${action}' instance ${s.id} while it is in vm_state ${s.vmState}: ${refusal}`);
}

async function perform(res: Response, base: string, action: ActionName, arg: Record<string, unknown> | null, s: ServerNode): Promise<Answer> {
  const id = s.id;
  const a = arg ?? {};
  if (POWER[action]) {
    checkPower(action, s);
    await updateInstance(res, id, { powerState: POWER[action]!.to });
    return { status: 202 };
  }
  switch (action) {
    case 'lock':
      await updateInstance(res, id, { locked: true, ...(a.locked_reason ? { lockedReason: a.locked_reason } : {}) });
      return { status: 202 };
    case 'unlock':
      await updateInstance(res, id, { locked: false });
      return { status: 202 };
    case 'reboot':
      await operation(res, 'rebootInstance', { id, hard: String(a.type).toUpperCase() === 'HARD' });
      return { status: 202 };
    case 'shelve':
      await operation(res, 'shelveInstance', { id });
      return { status: 202 };
    case 'shelveOffload':
      // Orrery's shelve always offloads; the instance is already where this would take it.
      if (s.vmState !== 'shelved_offloaded' && s.vmState !== 'shelved') throw new OsError(409, `Cannot 'shelveOffload' instance ${id} while it is in vm_state ${s.vmState}`);
      return { status: 202 };
    case 'unshelve':
      await operation(res, 'unshelveInstance', { id, zone: a.availability_zone ?? null, host: a.host ?? null });
      return { status: 202 };
    case 'resize':
      await updateInstance(res, id, { flavor: refOf(String(a.flavorRef)) });
      return { status: 202 };
    case 'confirmResize':
      await operation(res, 'confirmResize', { id });
      return { status: 204 };
    case 'revertResize':
      await operation(res, 'revertResize', { id });
      return { status: 202 };
    case 'migrate':
      await operation(res, 'migrateInstance', { id, host: a.host ?? null });
      return { status: 202 };
    case 'os-migrateLive':
      await operation(res, 'liveMigrateInstance', { id, host: a.host ?? null });
      return { status: 202 };
    case 'evacuate':
      await operation(res, 'evacuateInstance', { id, host: a.host ?? null });
      return { status: 200, body: {} };
    case 'rescue':
      await operation(res, 'rescueInstance', { id, image: a.rescue_image_ref ? refOf(String(a.rescue_image_ref)) : null });
      return { status: 200, body: { adminPass: '' } };
    case 'unrescue':
      await operation(res, 'unrescueInstance', { id });
      return { status: 202 };
    case 'rebuild': {
      const metadata = a.metadata ? Object.entries(a.metadata as Record<string, string>).map(([key, value]) => ({ key, value })) : undefined;
      await updateInstance(res, id, { image: refOf(String(a.imageRef)), ...(a.name ? { name: a.name } : {}), ...(metadata ? { metadata } : {}) });
      return { status: 202, body: { server: serverDetail(res, base, await loadServer(res, id)) } };
    }
    case 'createImage': {
      const done = await operation(res, 'snapshotInstance', { id, name: a.name }, '... on SnapshotInstanceSuccess { action { imageId } }');
      const imageId = (done.action as { imageId: string }).imageId;
      const location = `${base}/image/v2/images/${imageId}`;
      return { status: 202, headers: { location }, body: atLeast(res, 45) ? { image_id: imageId } : undefined };
    }
    case 'os-getConsoleOutput': {
      const lines = a.length === undefined || a.length === null || Number(a.length) < 0 ? null : Math.min(Number(a.length), 1000);
      if (lines !== null && !Number.isInteger(lines)) throw new OsError(400, 'os-getConsoleOutput.length must be an integer');
      const d = await run<{ consoleOutput: { output: string } | null }>(ctxOf(res),
        `query($id: ID!, $lines: Int) { consoleOutput(instanceId: $id, lines: $lines) { output } }`, { id, lines: lines ?? 1000 });
      return { status: 200, body: { output: d.consoleOutput?.output ?? '' } };
    }
    case 'os-getVNCConsole':
    case 'os-getSerialConsole': {
      const url = await consoleUrl(res, id, action === 'os-getVNCConsole' ? 'VNC' : 'SERIAL');
      return { status: 200, body: { console: { type: String(a.type), url } } };
    }
  }
  throw new OsError(400, `unknown action ${action}`);
}

async function consoleUrl(res: Response, id: string, type: 'VNC' | 'SERIAL'): Promise<string> {
  const done = await operation(res, 'createConsole', { instance: id, type }, '... on CreateConsoleSuccess { console { url } }');
  return (done.console as { url: string }).url;
}

export function serverActionRoutes(r: Router): void {
  r.post('/servers/:id/action', route(async (req, res) => {
    const body = (req.body ?? {}) as Body;
    const name = Object.keys(body).find((k): k is ActionName => k in ACTION_SCHEMAS);
    if (!name) throw new OsError(400, `There is no such action: ${Object.keys(body)[0] ?? '(none)'}`);
    if (!allowed(res, RULE[name])) throw new OsError(403, `Policy doesn't allow ${RULE[name]} to be performed.`);
    validBody(actionSchema(name), body);
    const server = await loadServer(res, String(req.params.id));
    const answer = await perform(res, publicBase(req), name, body[name] ?? null, server);
    res.status(answer.status).set(answer.headers ?? {});
    if (answer.body) res.json(answer.body);
    else res.end();
  }));
  r.post('/servers/:id/remote-consoles', route(async (req, res) => {
    if (!allowed(res, 'os_compute_api:os-remote-consoles')) throw new OsError(403, "Policy doesn't allow os_compute_api:os-remote-consoles to be performed.");
    const body = validBody<{ remote_console: { protocol: 'vnc' | 'serial'; type: string } }>(remoteConsoleSchema, req.body);
    const { id } = await loadServer(res, String(req.params.id));
    const url = await consoleUrl(res, id, body.remote_console.protocol === 'vnc' ? 'VNC' : 'SERIAL');
    res.json({ remote_console: { ...body.remote_console, url } });
  }));
}
