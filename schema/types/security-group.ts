import { rulesOf, type SecurityGroupRow, type SecurityGroupRuleRow } from '../../store/security-groups.ts';
import { builder } from '../builder.ts';

export const SecurityGroupRule = builder.objectRef<SecurityGroupRuleRow>('SecurityGroupRule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    securityGroupId: t.exposeID('group_id'),
    direction: t.exposeString('direction'),
    ethertype: t.exposeString('ethertype'),
    protocol: t.exposeString('protocol', { nullable: true, description: 'null: any' }),
    portMin: t.exposeInt('port_min', { nullable: true }),
    portMax: t.exposeInt('port_max', { nullable: true }),
    remoteCidr: t.exposeString('remote_cidr', { nullable: true }),
    remoteGroupId: t.exposeID('remote_group_id', { nullable: true, description: 'Traffic from (to) the members of this group' }),
  }),
});

export const SecurityGroup = builder.objectRef<SecurityGroupRow>('SecurityGroup').implement({
  description: "Allow rules for the ports in it; everything else is dropped. Every project has a `default` group.",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    projectId: t.exposeID('project_id'),
    rules: t.field({ type: [SecurityGroupRule], resolve: (g, _a, ctx) => rulesOf(ctx.sql, g.id) }),
    createdAt: t.expose('created_at', { type: 'DateTime' }),
  }),
});

export const SecurityGroupInput = builder.inputType('SecurityGroupInput', {
  fields: (t) => ({ name: t.string({ required: true }), description: t.string() }),
});

export const SecurityGroupRuleInput = builder.inputType('SecurityGroupRuleInput', {
  fields: (t) => ({
    securityGroup: t.string({ required: true, description: 'Name or ID' }),
    direction: t.string({ required: true, description: 'ingress or egress' }),
    ethertype: t.string({ description: 'IPv4 (default) or IPv6' }),
    protocol: t.string({ description: 'tcp, udp, icmp, icmpv6 or a protocol number; default any' }),
    portMin: t.int(),
    portMax: t.int(),
    remoteCidr: t.string(),
    remoteGroup: t.string({ description: 'Name or ID of a group of yours' }),
  }),
});
