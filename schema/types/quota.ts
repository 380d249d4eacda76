import type { QuotaLine } from '../../store/quotas.ts';
import { builder } from '../builder.ts';

export const QuotaLineType = builder.objectRef<QuotaLine>('Quota').implement({
  description: 'One limit of a project and what it uses now. server_group_members is per group, metadata_items per instance, key_pairs per user.',
  fields: (t) => ({
    resource: t.exposeString('resource'),
    limit: t.exposeInt('limit', { description: '-1: unlimited' }),
    overridden: t.exposeBoolean('overridden', { description: "The project's own limit rather than the default" }),
    inUse: t.exposeInt('inUse'),
  }),
});

const QuotaLimitInput = builder.inputType('QuotaLimitInput', {
  fields: (t) => ({
    resource: t.string({ required: true, description: 'instances, cores, ram, server_groups, server_group_members, key_pairs or metadata_items' }),
    limit: t.int({ description: '-1 unlimited; null (with a project) reverts to the default' }),
  }),
});

export const SetQuotasInput = builder.inputType('SetQuotasInput', {
  fields: (t) => ({
    project: t.string({ description: 'Name or ID; absent sets the defaults of every project' }),
    limits: t.field({ type: [QuotaLimitInput], required: true, description: 'Each resource at most once' }),
  }),
});

export const SetQuotaInput = builder.inputType('SetQuotaInput', {
  fields: (t) => ({
    project: t.string({ description: 'Name or ID; absent sets the default of every project' }),
    resource: t.string({ required: true, description: 'instances, cores, ram, server_groups, server_group_members, key_pairs or metadata_items' }),
    limit: t.int({ description: '-1 unlimited; null (with a project) reverts to the default' }),
  }),
});
