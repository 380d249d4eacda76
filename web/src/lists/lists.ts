import type { ComponentType } from 'react';
import { ImageUpload } from './ImageUpload.tsx';

/** A list page: one query, its rows, how each column shows a row, and maybe a form that adds one. */
export interface ListDef {
  path: string;
  title: string;
  rule: string;
  query: string;
  rows: (data: any) => Row[];
  columns: [header: string, cell: (row: Row) => string][];
  form?: { rule: string; component: ComponentType<{ onDone: () => void }> };
}
type Row = Record<string, any>;

const kv = (pairs: { key: string; value: string }[]) => pairs.map((p) => `${p.key}=${p.value}`).join(', ');
const size = (bytes: number | null) => (bytes === null ? '—' : `${(bytes / 1048576).toFixed(1)} MiB`);

export const LISTS: ListDef[] = [
  {
    path: 'flavors', title: 'Flavors', rule: 'flavor:list',
    query: 'query { flavors { name vcpus ramMb diskGb ephemeralGb swapMb isPublic extraSpecs { key value } } }',
    rows: (d) => d.flavors,
    columns: [['Name', (r) => r.name], ['vCPUs', (r) => String(r.vcpus)], ['RAM (MB)', (r) => String(r.ramMb)], ['Disk (GB)', (r) => String(r.diskGb)],
      ['Ephemeral (GB)', (r) => String(r.ephemeralGb)], ['Swap (MB)', (r) => String(r.swapMb)], ['Public', (r) => (r.isPublic ? 'yes' : 'no')],
      ['Extra specs', (r) => kv(r.extraSpecs)]],
  },
  {
    path: 'images', title: 'Images', rule: 'image:list',
    query: 'query { images { name status visibility diskFormat sizeBytes virtualSizeBytes minDiskGb createdAt } }',
    rows: (d) => d.images,
    form: { rule: 'image:create', component: ImageUpload },
    columns: [['Name', (r) => r.name], ['Status', (r) => r.status], ['Visibility', (r) => r.visibility], ['Format', (r) => r.diskFormat],
      ['Size', (r) => size(r.sizeBytes)], ['Virtual size', (r) => size(r.virtualSizeBytes)], ['Min disk (GB)', (r) => String(r.minDiskGb)]],
  },
  {
    path: 'zones', title: 'Zones', rule: 'zone:list',
    query: 'query { availabilityZones { name description hosts } }',
    rows: (d) => d.availabilityZones,
    columns: [['Name', (r) => r.name], ['Description', (r) => r.description], ['Hosts', (r) => r.hosts.join(', ')]],
  },
  {
    path: 'aggregates', title: 'Aggregates', rule: 'aggregate:list',
    query: 'query { aggregates { name hosts metadata { key value } } }',
    rows: (d) => d.aggregates,
    columns: [['Name', (r) => r.name], ['Hosts', (r) => r.hosts.join(', ')], ['Metadata', (r) => kv(r.metadata)]],
  },
  {
    path: 'server-groups', title: 'Server groups', rule: 'server_group:list',
    query: 'query { serverGroups { name policy members { name host } } }',
    rows: (d) => d.serverGroups,
    columns: [['Name', (r) => r.name], ['Policy', (r) => r.policy],
      ['Members', (r) => r.members.map((m: Row) => (m.host ? `${m.name} (${m.host})` : m.name)).join(', ')]],
  },
  {
    path: 'key-pairs', title: 'Key pairs', rule: 'keypair:list',
    query: 'query { keyPairs { name type fingerprint } }',
    rows: (d) => d.keyPairs,
    columns: [['Name', (r) => r.name], ['Type', (r) => r.type], ['Fingerprint', (r) => r.fingerprint]],
  },
  {
    path: 'networks', title: 'Networks', rule: 'network:list',
    query: 'query { networks { name mtu shared external segment { kind vni bridge } subnets { name cidr } } }',
    rows: (d) => d.networks,
    columns: [['Name', (r) => r.name], ['Segment', (r) => `${r.segment.kind}${r.segment.vni !== null ? ` ${r.segment.vni}` : ''}${r.segment.bridge ? ` on ${r.segment.bridge}` : ''}`],
      ['MTU', (r) => String(r.mtu)], ['Shared', (r) => (r.shared ? 'yes' : 'no')], ['External', (r) => (r.external ? 'yes' : 'no')],
      ['Subnets', (r) => r.subnets.map((s: Row) => `${s.name} ${s.cidr}`).join(', ')]],
  },
  {
    path: 'quotas', title: 'Quotas', rule: 'quota:show',
    query: 'query { quotas { resource inUse limit overridden } }',
    rows: (d) => d.quotas,
    columns: [['Resource', (r) => r.resource], ['In use', (r) => String(r.inUse)], ['Limit', (r) => (r.limit < 0 ? 'unlimited' : String(r.limit))],
      ['Use', (r) => (r.limit > 0 ? `${Math.round((100 * r.inUse) / r.limit)} %` : '—')], ['Overridden', (r) => (r.overridden ? 'yes' : 'no')]],
  },
];
