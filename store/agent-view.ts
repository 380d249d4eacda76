import type { HostNetwork } from '../core/host-network.ts';
import type { Sql } from '../db/connect.ts';
import { INTERFACE_ACTIONS } from './actions.ts';
import { agentNetworkViews } from './agent-network-view.ts';

export interface AgentInstanceRow {
  id: string;
  name: string;
  generation: number;
  observed_generation: number;
  deleted: boolean;
  desired_power_state: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  image_id: string;
  image_disk_format: 'qcow2' | 'raw';
  image_checksum: string | null;
  image_properties: Record<string, string>;
  user_data: string | null;
  metadata: Record<string, string>;
  /** What the guest's metadata says of it besides its spec (Nova's meta_data.json). */
  project_id: string;
  availability_zone: string | null;
  key_name: string | null;
  key_data: string | null;
  config_drive: boolean;
  /** The operation the agent must carry out now (reboot), if any. */
  operation_id: string | null;
  operation_kind: string | null;
  operation_params: Record<string, unknown> | null;
  /** The image an operation boots from (rescue), with what the host needs to fetch it. */
  operation_image_format: 'qcow2' | 'raw' | null;
  operation_image_checksum: string | null;
  completed_operation_id: string | null;
  /** A live migration's destination: its hypervisor's URI and what its driver prepared. */
  operation_target_uri: string | null;
  operation_target_prepared: Record<string, string> | null;
  /** The request id of the action under way on it: its operation's, else its newest running state change's. */
  request_id: string | null;
  revision: number;
}

/** A live migration this host receives: it prepares a disk, then the source sends the guest. */
export interface IncomingMigration {
  migrationId: string;
  instanceId: string;
  diskGb: number;
}

export interface AgentView {
  hostId: string;
  hostName: string;
  epoch: number;
  enabled: boolean;
  orphanPolicy: string;
  /** Instances evacuated away from this host: their domains here must go, whatever the orphan policy. */
  fenced: string[];
  /** Instances moving away from this host: keep their domains, neither run nor remove them. */
  held: string[];
  incoming: IncomingMigration[];
  revision: number;
  instances: AgentInstanceRow[];
  /** What its network plumbing must be (core/host-network.ts). */
  networks: HostNetwork[];
}

/**
 * One push of the changes watch: the host's own part always (it is small), and of its instances
 * and networks only what changed since the last push. The first push is the full view.
 */
export interface AgentViewChange extends Omit<AgentView, 'networks'> {
  full: boolean;
  /** Instances bound here no longer (or gone): the agent drops them from its view. */
  removed: string[];
  /** Null: the networks are as last pushed. */
  networks: HostNetwork[] | null;
}

interface HostPart {
  id: string;
  name: string;
  epoch: number;
  enabled: boolean;
  orphan_policy: string;
  fenced: string[];
  held: string[];
  incoming: IncomingMigration[];
  revision: number;
}

/** Everything one host must run, and nothing about any other host. */
export async function agentView(sql: Sql, hostId: string): Promise<AgentView> {
  return (await agentViews(sql, [hostId])).get(hostId)!;
}

/**
 * `agentView` of many hosts, in the same three statements as one host's (the watch's reads,
 * batched: server/agent-view-reads.ts): a statement's own cost, not its few rows, is most of a
 * read. Every host requested has an entry (by its id as PostgreSQL writes it); an unknown host's
 * is empty.
 */
export async function agentViews(sql: Sql, hostIds: string[]): Promise<Map<string, AgentView>> {
  // Three statements, run side by side: this is read after every change that touches a host.
  const hostRows = sql<HostPart[]>`
    select h.id, h.name, h.epoch, h.enabled, h.orphan_policy,
           array(select instance_id::text from host_fences where host_id = h.id) as fenced,
           -- The source domain of an unconfirmed move stays, untouched, until the move is confirmed or reverted.
           -- So does a guest arriving by live migration, until it is bound here.
           array(select instance_id::text from migrations
                  where (source_host_id = h.id and status in ('migrating', 'finished', 'reverting'))
                     or (dest_host_id = h.id and kind = 'live-migration' and status in ('preparing', 'prepared', 'running'))) as held,
           coalesce((select json_agg(json_build_object('migrationId', m.id, 'instanceId', m.instance_id, 'diskGb', f.disk_gb))
                       from migrations m join flavors f on f.id = m.new_flavor_id
                      where m.dest_host_id = h.id and m.kind = 'live-migration' and m.status = 'preparing'), '[]') as incoming,
           (select last_value from change_revision) as revision
      from hosts h where h.id = any(${hostIds}::uuid[])`;
  const instanceRows = sql<(AgentInstanceRow & { host_id: string })[]>`
    select i.host_id, i.id, i.name, i.generation, i.observed_generation,
           (i.delete_requested_at is not null or i.task_state is not distinct from 'shelving_offloading') as deleted,
           i.desired_power_state, f.vcpus, f.ram_mb as memory_mb, f.disk_gb, im.id as image_id,
           im.disk_format as image_disk_format, im.checksum as image_checksum, im.properties as image_properties,
           i.user_data, i.revision, i.metadata, i.project_id, i.key_name, i.key_data, i.config_drive,
           -- The zone the guest is in: its host's (what Nova's metadata says), else the one asked for.
           coalesce((select z.name from hosts h join availability_zones z on z.id = h.zone_id where h.id = i.host_id),
                    i.requested_zone) as availability_zone,
           a.id as operation_id, a.action as operation_kind, a.params as operation_params,
           oi.disk_format as operation_image_format, oi.checksum as operation_image_checksum,
           i.agent_completed_action_id as completed_operation_id,
           dh.migration_uri as operation_target_uri, lm.dest_prepared as operation_target_prepared,
           -- The action whose steps the host's changes are (running_state_action); looked for
           -- only while a task runs, so settled instances cost nothing.
           coalesce(a.request_id, case when i.task_state is not null then
             (select ra.request_id from running_state_action(i.id, ${INTERFACE_ACTIONS}::text[]) ra) end) as request_id
      from instances i
      join flavors f on f.id = i.flavor_id
      -- A moving instance builds on the disk its source uploaded; a shelved one boots from its snapshot.
      left join migrations m on m.id = i.migration_id and m.status = 'migrating' and m.dest_host_id = i.host_id
      join images im on im.id = coalesce(m.transfer_image_id, i.shelved_image_id, i.image_id)
      left join migrations lm on lm.id = i.migration_id and lm.kind = 'live-migration'
      left join hosts dh on dh.id = lm.dest_host_id
      -- A live migration reaches the source only once the destination is ready for the guest.
      left join instance_actions a on a.id = i.current_action_id and (a.action <> 'live-migrate' or lm.status = 'running')
      left join images oi on a.action = 'rescue' and oi.id = (a.params->>'imageId')::uuid
     where i.host_id = any(${hostIds}::uuid[])
     order by i.host_id, i.id`;
  const [hosts, instances, networks] = await Promise.all([hostRows, instanceRows, agentNetworkViews(sql, hostIds)]);
  const hostById = new Map(hosts.map((h) => [h.id, h]));
  const instancesByHost = new Map<string, AgentInstanceRow[]>(hostIds.map((id) => [id, []]));
  // The host id carried only to sort rows out: not part of an instance's row.
  for (const { host_id, ...row } of instances) instancesByHost.get(host_id)?.push(row);
  return new Map(hostIds.map((hostId) => {
    const host = hostById.get(hostId);
    return [hostId, {
      hostId,
      hostName: host?.name ?? '',
      epoch: host?.epoch ?? 0,
      enabled: host?.enabled ?? false,
      orphanPolicy: host?.orphan_policy ?? 'remove',
      fenced: host?.fenced ?? [],
      held: host?.held ?? [],
      incoming: host?.incoming ?? [],
      revision: host?.revision ?? 0,
      instances: instancesByHost.get(hostId)!,
      networks: networks.get(hostId)!,
    }];
  }));
}
