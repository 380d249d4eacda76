import type { HostNetwork } from '../../core/host-network.ts';
import type { MetadataNic, MetadataSource } from '../../core/metadata/source.ts';
import type { AssignedInstance } from '../api.ts';

/**
 * What one guest's metadata says, from the agent's view alone: the instance as assigned and its
 * ports on this host's networks, in device order. The config drive and the metadata service both
 * start here, so they cannot disagree.
 */
export function metadataSource(inst: AssignedInstance, networks: HostNetwork[]): MetadataSource {
  const nics: (MetadataNic & { deviceIndex: number })[] = [];
  for (const net of networks) {
    const subnets = new Map(net.subnets.map((s) => [s.id, s]));
    for (const port of net.ports) {
      if (port.instanceId !== inst.id) continue;
      nics.push({
        deviceIndex: port.deviceIndex,
        portId: port.id,
        networkId: net.id,
        mac: port.mac,
        mtu: net.mtu,
        tap: port.tap,
        fixedIps: port.fixedIps.flatMap(({ subnetId, ip }) => {
          const s = subnets.get(subnetId);
          if (!s) return [];
          const subnet = {
            cidr: s.cidr,
            ipVersion: s.ipVersion,
            gatewayIp: s.gatewayIp,
            dnsServers: s.dnsServers,
            hostRoutes: s.hostRoutes,
            dhcpEnabled: s.dhcpServerIp !== null,
          };
          return [{ ip, subnet }];
        }),
      });
    }
  }
  nics.sort((a, b) => a.deviceIndex - b.deviceIndex);
  return {
    uuid: inst.id,
    name: inst.name,
    availabilityZone: inst.availabilityZone,
    projectId: inst.projectId,
    launchIndex: 0,
    keyPair: inst.keyPair,
    meta: Object.fromEntries(inst.metadata.map((p) => [p.key, p.value])),
    userData: inst.userData === null ? null : Buffer.from(inst.userData, 'utf8'),
    nics: nics.map(({ deviceIndex: _, ...nic }) => nic),
  };
}
