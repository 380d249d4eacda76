/**
 * Every GraphQL operation the host agent sends, fixed texts (values go in variables). They are kept
 * together so a test can check that each fits well inside the API's query limits.
 */

const HOST_FIELDS = `hostId hostName epoch enabled orphanPolicy fenced held revision
  incoming { migrationId instanceId diskGb }`;

const INSTANCES_AND_NETWORKS = `instances { id name generation observedGeneration deleted powerState vcpus memoryMb diskGb userData
    image { id diskFormat checksum properties { key value } } metadata { key value }
    projectId availabilityZone keyPair { name publicKey } configDrive
    operation { id kind hard imageId image { id diskFormat checksum } migration { uri prepared { key value } } }
    completedOperationId requestId }
  networks { id name segment { kind vni bridge } mtu peers
    subnets { id cidr ipVersion gatewayIp dhcpServerIp dnsServers hostRoutes { destination nexthop } }
    service { mac addresses { subnetId ip } }
    ports { id instanceId deviceIndex mac tap fixedIps { subnetId ip } portSecurity
      rules { direction ethertype protocol portMin portMax remoteCidrs } }
    floatingIps { address fixedIp externalBridge externalPrefixLength externalGateway } }`;

export const AGENT_OPERATIONS = {
  enroll: `mutation($name: String!, $inv: HostInventoryInput!) { enrollHost(name: $name, inventory: $inv) {
    __typename ... on EnrollHostSuccess { enrollment { hostId token epoch } } ... on Error { message } } }`,
  heartbeat: `mutation { heartbeat { epoch enabled } }`,
  reportHost: `mutation($inv: HostInventoryInput!) { reportHost(inventory: $inv) {
    __typename ... on ReportHostSuccess { heartbeat { epoch enabled } } ... on Error { message } } }`,
  watch: `subscription { agentAssignmentChanges { full removed ${HOST_FIELDS} ${INSTANCES_AND_NETWORKS} } }`,
  reportInstances: `mutation($r: [InstanceReportInput!]!) { reportInstances(reports: $r) {
    __typename ... on ReportInstancesSuccess { result { accepted rejected } } ... on Error { message } } }`,
  reportMigrationPrepared: `mutation($m: ID!, $p: [KeyValueInput!], $f: String) { reportMigrationPrepared(migration: $m, prepared: $p, failure: $f) }`,
  reportConsoles: `mutation($c: [ConsoleReportInput!]!) { reportConsoles(consoles: $c) }`,
  reportOrphans: `mutation($o: [OrphanReportInput!]!) { reportOrphans(orphans: $o) }`,
  watchConsoles: `subscription { agentConsoleSessions { id instanceId type relayUrl } }`,
} as const;
