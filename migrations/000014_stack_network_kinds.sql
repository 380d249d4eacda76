-- Stacks own networks, subnets and security groups too (a group's rules are part of its applied spec).
alter table stack_resources drop constraint stack_resources_kind_check;
alter table stack_resources add constraint stack_resources_kind_check
  check (kind in ('flavor', 'availabilityZone', 'aggregate', 'serverGroup', 'keyPair', 'network', 'subnet', 'securityGroup', 'instance'));
