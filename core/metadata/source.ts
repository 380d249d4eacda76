/**
 * Everything the metadata service and the config drive say about one guest, as the host agent
 * holds it: built from the agent's view (its instance and its ports on the host's networks), so
 * both are served from what the host already has, with no call to the control plane.
 */
export interface MetadataSource {
  uuid: string;
  /** The display name; the hostname is derived from it by Nova's rules. */
  name: string;
  availabilityZone: string | null;
  projectId: string;
  /** Nova's launch_index: the position in a multi-create, 0 otherwise. */
  launchIndex: number;
  keyPair: { name: string; publicKey: string } | null;
  /** The user's metadata key/value pairs (Nova's `meta`). */
  meta: Record<string, string>;
  /** User data exactly as given, or null. */
  userData: Buffer | null;
  /** The guest's NICs in device order (eth0 first). */
  nics: MetadataNic[];
}

export interface MetadataNic {
  portId: string;
  networkId: string;
  mac: string;
  mtu: number;
  /** The tap device name on the host. */
  tap: string;
  fixedIps: { ip: string; subnet: MetadataSubnet }[];
}

export interface MetadataSubnet {
  cidr: string;
  ipVersion: 4 | 6;
  gatewayIp: string | null;
  dnsServers: string[];
  hostRoutes: { destination: string; nexthop: string }[];
  dhcpEnabled: boolean;
}
