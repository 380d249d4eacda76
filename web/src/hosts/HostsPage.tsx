import { useQuery } from '../useQuery.ts';
import { HostActions } from './HostActions.tsx';
import { UsageBar } from './UsageBar.tsx';

interface Res { vcpus: number; memoryMb: number; diskGb: number }
export interface HostView {
  id: string; name: string; state: string; enabled: boolean; disabledReason: string | null; zone: string | null; instanceCount: number;
  capacity: Res; used: Res; reserved: Res; effectiveAllocationRatios: { cpu: number | null; ram: number | null; disk: number | null };
}

const HOSTS = `query { hosts(first: 500) { edges { node { id name state enabled disabledReason zone instanceCount
  capacity { vcpus memoryMb diskGb } used { vcpus memoryMb diskGb } reserved { vcpus memoryMb diskGb }
  effectiveAllocationRatios { cpu ram disk } } } }
  aggregates { name hosts } }`;

/** Compute hosts (admins): liveness, scheduling state, zone, aggregates and how full each is. */
export function HostsPage() {
  const { data, error, reload } = useQuery<{ hosts: { edges: { node: HostView }[] }; aggregates: { name: string; hosts: string[] }[] }>(HOSTS);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!data) return <p className="loading">Loading…</p>;
  const aggregatesOf = (host: string) => data.aggregates.filter((a) => a.hosts.includes(host)).map((a) => a.name);
  return (
    <section aria-labelledby="hosts-title">
      <h1 id="hosts-title">Hosts</h1>
      <button type="button" onClick={reload}>Refresh</button>
      <table className="hosts">
        <thead>
          <tr>
            <th scope="col">Name</th><th scope="col">State</th><th scope="col">Scheduling</th><th scope="col">Zone</th>
            <th scope="col">Aggregates</th><th scope="col">Usage</th><th scope="col">Instances</th><th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {data.hosts.edges.map(({ node: h }) => {
            const r = h.effectiveAllocationRatios;
            return (
              <tr key={h.id} data-host={h.name}>
                <th scope="row">{h.name}</th>
                <td className="status" data-status={h.state}>{h.state}</td>
                <td>{h.enabled ? 'enabled' : `disabled${h.disabledReason ? `: ${h.disabledReason}` : ''}`}</td>
                <td>{h.zone ?? '—'}</td>
                <td>{aggregatesOf(h.name).join(', ') || '—'}</td>
                <td>
                  <UsageBar label="vCPU" unit="" used={h.used.vcpus} capacity={h.capacity.vcpus} reserved={h.reserved.vcpus} ratio={r.cpu ?? 1} />
                  <UsageBar label="RAM" unit="MB" used={h.used.memoryMb} capacity={h.capacity.memoryMb} reserved={h.reserved.memoryMb} ratio={r.ram ?? 1} />
                  <UsageBar label="Disk" unit="GB" used={h.used.diskGb} capacity={h.capacity.diskGb} reserved={h.reserved.diskGb} ratio={r.disk ?? 1} />
                </td>
                <td>{h.instanceCount}</td>
                <td><HostActions host={h} onChanged={reload} /></td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
