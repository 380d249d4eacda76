import { bridgeName, type HostNetwork } from '../../core/host-network.ts';
import type { DomainInterface } from '../drivers/driver.ts';

/**
 * Each instance's NICs as its domain needs them, from the ports of the host's networks, in the
 * ports' device order: the guest names its NICs in the order the domain lists them, so eth0 is the
 * first NIC the instance asked for whatever network it is on.
 */
export function nicsByInstance(networks: HostNetwork[]): Map<string, DomainInterface[]> {
  const ordered = new Map<string, { index: number; nic: DomainInterface }[]>();
  for (const net of networks) {
    for (const port of net.ports) {
      const list = ordered.get(port.instanceId) ?? [];
      list.push({ index: port.deviceIndex, nic: { mac: port.mac, bridge: bridgeName(net.segment), tap: port.tap, mtu: net.mtu } });
      ordered.set(port.instanceId, list);
    }
  }
  return new Map([...ordered].map(([id, list]) => [id, list.sort((a, b) => a.index - b.index).map((n) => n.nic)]));
}
