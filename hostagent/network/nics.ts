import { bridgeName, type HostNetwork } from '../../core/host-network.ts';
import type { DomainInterface } from '../drivers/driver.ts';

/** Each instance's NICs as its domain needs them, from the ports of the host's networks. */
export function nicsByInstance(networks: HostNetwork[]): Map<string, DomainInterface[]> {
  const nics = new Map<string, DomainInterface[]>();
  for (const net of networks) {
    for (const port of net.ports) {
      const list = nics.get(port.instanceId) ?? [];
      list.push({ mac: port.mac, bridge: bridgeName(net.segment), tap: port.tap, mtu: net.mtu });
      nics.set(port.instanceId, list);
    }
  }
  return nics;
}
