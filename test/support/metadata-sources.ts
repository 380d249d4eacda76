import type { MetadataSource } from '../../core/metadata/source.ts';

export const PUBLIC_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHn3ZbCjeF3Ux8Tx6n1tEqgwdEd4qzwzLqKx4n5ccNqO alice@laptop';
export const USER_DATA = Buffer.from('#cloud-config\nruncmd:\n  - [touch, /tmp/booted]\n\u00ff\u0000', 'latin1');

/**
 * A guest with two NICs: eth0 on a DHCP IPv4 subnet (gateway, DNS, a host route), eth1 on a static
 * IPv4 subnet without a gateway and a static IPv6 subnet (two addresses: only the first is described).
 */
export const twoNics: MetadataSource = {
  uuid: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b',
  name: 'Web_Server 01.example',
  availabilityZone: 'zone-a',
  projectId: 'b0e1c2d3-0000-4000-8000-00000000000a',
  launchIndex: 1,
  keyPair: { name: 'alice-key', publicKey: PUBLIC_KEY },
  meta: { role: 'web', tier: 'front' },
  userData: USER_DATA,
  nics: [
    {
      portId: 'a1111111-1111-4111-8111-111111111111',
      networkId: 'n1111111-1111-4111-8111-111111111111',
      mac: 'fa:16:3e:11:22:33',
      mtu: 1450,
      tap: 'tapa1111111-11',
      fixedIps: [
        {
          ip: '10.0.0.5',
          subnet: {
            cidr: '10.0.0.0/24',
            ipVersion: 4,
            gatewayIp: '10.0.0.1',
            dnsServers: ['10.0.0.2', '9.9.9.9'],
            hostRoutes: [{ destination: '172.16.0.0/12', nexthop: '10.0.0.254' }],
            dhcpEnabled: true,
          },
        },
      ],
    },
    {
      portId: 'b2222222-2222-4222-8222-222222222222',
      networkId: 'n2222222-2222-4222-8222-222222222222',
      mac: 'fa:16:3e:44:55:66',
      mtu: 1500,
      tap: 'tapb2222222-22',
      fixedIps: [
        {
          ip: 'fd00:1::5',
          subnet: {
            cidr: 'fd00:1::/64',
            ipVersion: 6,
            gatewayIp: 'fd00:1::1',
            dnsServers: ['fd00:1::53', '9.9.9.9'],
            hostRoutes: [{ destination: 'fd00:2::/48', nexthop: 'fd00:1::fe' }],
            dhcpEnabled: false,
          },
        },
        {
          ip: '192.168.50.10',
          subnet: { cidr: '192.168.50.0/26', ipVersion: 4, gatewayIp: null, dnsServers: [], hostRoutes: [], dhcpEnabled: false },
        },
        {
          ip: 'fd00:1::6',
          subnet: { cidr: 'fd00:1::/64', ipVersion: 6, gatewayIp: 'fd00:1::1', dnsServers: ['fd00:1::53'], hostRoutes: [], dhcpEnabled: false },
        },
      ],
    },
  ],
};

/** A guest with nothing: no NICs, no key pair, no metadata, no user data, no zone; its name sanitises to nothing. */
export const bare: MetadataSource = {
  uuid: '0a0b0c0d-1e2f-4a5b-8c6d-7e8f9a0b1c2d',
  name: '__..__',
  availabilityZone: null,
  projectId: 'b0e1c2d3-0000-4000-8000-00000000000b',
  launchIndex: 0,
  keyPair: null,
  meta: {},
  userData: null,
  nics: [],
};

/** random_seed's source in tests: the byte pattern 0, 1, 2, ... so the seed is known. */
export function countingBytes(size: number): Buffer {
  return Buffer.from(Array.from({ length: size }, (_, i) => i % 256));
}
