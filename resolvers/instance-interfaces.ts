import { ConflictError, NotFoundError } from '../core/errors.ts';
import { describeState, operationRefusal } from '../core/operation-guards.ts';
import { validate } from '../core/validate.ts';
import type { TxSql } from '../db/connect.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { interfaceAttachSchema, MAX_INSTANCE_NICS, type InstanceNic } from '../schema/documents/network.ts';
import { mutationErrors } from '../schema/errors.ts';
import { InterfaceAttachment } from '../schema/types/instance.ts';
import { InstanceNicInput } from '../schema/types/network.ts';
import { addEventTo, startAction } from '../store/actions.ts';
import { isUuid, type InstanceRow } from '../store/instances.ts';
import { enqueueInterfaceDeadline } from '../store/jobs.ts';
import { loadPorts, type PortView } from '../store/ports.ts';
import type { ActionRow } from '../store/rows.ts';
import { compact } from './compact.ts';
import { checkNotLocked, lockOwnInstance } from './instance-access.ts';
import { prepareNic, writeNic } from './instance-nics.ts';
import { requireUser } from './scope.ts';

type Change = 'attach-interface' | 'detach-interface';

/**
 * The caller's project's instance (a port belongs to its instance's project, so admins get no
 * reach into others here), locked, in a state Nova takes the change in: no task running.
 */
async function changeableInstance(tx: TxSql, ctx: Context, id: string, change: Change): Promise<InstanceRow> {
  const inst = await lockOwnInstance(tx, ctx, id, { field: 'instance', ownProjectOnly: true });
  checkNotLocked(ctx, inst, change === 'attach-interface' ? 'attach an interface to' : 'detach an interface from');
  const refusal = operationRefusal(change, inst);
  if (refusal) throw new ConflictError(refusal, describeState(inst));
  return inst;
}

/**
 * The change as the instance's action: running until its host reports the NIC there (or gone),
 * reports failing to, or lets the deadline pass. The opposite change of the same port, if still
 * running, will never be seen through: it ends here.
 */
async function recordChange(tx: TxSql, ctx: Context, inst: InstanceRow, change: Change, port: PortView): Promise<ActionRow> {
  const [opposite, why] = change === 'attach-interface'
    ? ['detach-interface', 'attached again before the host unplugged it']
    : ['attach-interface', 'detached before the host plugged it'];
  await tx`update instance_actions set state = 'failed', message = ${why}, finished_at = now()
            where instance_id = ${inst.id} and action = ${opposite} and state = 'running' and params->>'portId' = ${port.id}`;
  const id = await startAction(tx, {
    instanceId: inst.id, projectId: inst.project_id, action: change, requestId: ctx.requestId,
    userId: requireUser(ctx).userId, params: { portId: port.id, mac: port.mac },
  });
  const [host] = await tx<{ name: string }[]>`select name from hosts where id = ${inst.host_id}`;
  await addEventTo(tx, id, { event: change, result: 'running', hostName: host?.name });
  await enqueueInterfaceDeadline(tx, id, ctx.config.spawnTimeoutSeconds, ctx.requestId);
  return (await tx<ActionRow[]>`select * from instance_actions where id = ${id}`)[0]!;
}

builder.mutationFields((t) => ({
  attachInterface: t.field({
    type: InterfaceAttachment,
    description:
      "Gives the instance one more NIC, as createInstance's networks take them: a new port on a network (at fixedIp if given) or your unattached port. Its host hot-plugs it (a stopped guest has it at its next boot); the port is ACTIVE once the host reports it on the guest.",
    args: { instance: t.arg.id({ required: true }), input: t.arg({ type: InstanceNicInput, required: true }) },
    authScopes: { policy: 'instance:attach_interface' },
    errors: mutationErrors('AttachInterface', 'attachment'),
    resolve: async (_r, { instance, input }, ctx) => {
      const user = requireUser(ctx);
      const nic = validate<InstanceNic>(interfaceAttachSchema, compact(input));
      return ctx.sql.begin(async (tx) => {
        const inst = await changeableInstance(tx, ctx, String(instance), 'attach-interface');
        const [{ n }] = await tx<[{ n: number }]>`select count(*)::int as n from ports where instance_id = ${inst.id}`;
        if (n >= MAX_INSTANCE_NICS) throw new ConflictError(`instance ${inst.name} has ${n} NICs, the most an instance has`, describeState(inst));
        const portId = await writeNic(tx, user, inst.id, await prepareNic(tx, ctx, user, nic, 'input'));
        const [port] = await loadPorts(tx, { id: portId, projectId: null });
        return { port: port!, action: await recordChange(tx, ctx, inst, 'attach-interface', port!) };
      });
    },
  }),
  detachInterface: t.field({
    type: InterfaceAttachment,
    description:
      "Takes the NIC of `port` off the instance; its host unplugs it. A port the instance's creation or an attach made is deleted and its addresses released; your own port is kept, unattached, as Neutron keeps it.",
    args: { instance: t.arg.id({ required: true }), port: t.arg.id({ required: true }) },
    authScopes: { policy: 'instance:detach_interface' },
    errors: mutationErrors('DetachInterface', 'attachment'),
    resolve: (_r, args, ctx) =>
      ctx.sql.begin(async (tx) => {
        const inst = await changeableInstance(tx, ctx, String(args.instance), 'detach-interface');
        const portId = String(args.port);
        const [port] = isUuid(portId) ? await loadPorts(tx, { id: portId, projectId: null, instanceId: inst.id }) : [];
        if (!port) throw new NotFoundError('port', portId, 'port');
        if (port.created_by_instance) {
          await tx`delete from ports where id = ${port.id}`;
        } else {
          await tx`update ports set instance_id = null, status = 'DOWN' where id = ${port.id}`;
        }
        const detached = { ...port, instance_id: null, status: 'DOWN' };
        return { port: detached, action: await recordChange(tx, ctx, inst, 'detach-interface', port) };
      }),
  }),
}));
