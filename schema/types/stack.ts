import { builder } from '../builder.ts';
import { stackKinds, type StackKind } from '../documents/stack.ts';

export interface StackResourceRow {
  project_id: string;
  stack: string;
  kind: StackKind;
  name: string;
  resource_id: string;
  applied: Record<string, unknown>;
  recorded_at: Date;
}

export interface StackView {
  name: string;
  resources: StackResourceRow[];
}

export const StackResourceKind = builder.enumType('StackResourceKind', {
  values: Object.fromEntries(stackKinds.map((k) => [k, { value: k }])) as Record<StackKind, { value: StackKind }>,
});

export const StackResource = builder.objectRef<StackResourceRow>('StackResource').implement({
  description: 'One resource a stack owns, with the spec it was last applied with.',
  fields: (t) => ({
    kind: t.field({ type: StackResourceKind, resolve: (r) => r.kind }),
    name: t.exposeString('name'),
    resourceId: t.exposeID('resource_id'),
    applied: t.field({ type: 'JSON', description: 'The spec as the file gave it at the last apply', resolve: (r) => r.applied }),
    recordedAt: t.expose('recorded_at', { type: 'DateTime' }),
  }),
});

export const Stack = builder.objectRef<StackView>('Stack').implement({
  description: 'What a desired-state file (orrery apply) owns in your project: the record behind plan and --prune.',
  fields: (t) => ({
    name: t.exposeString('name'),
    resources: t.field({ type: [StackResource], resolve: (s) => s.resources }),
  }),
});

export const StackResourceInput = builder.inputType('StackResourceInput', {
  fields: (t) => ({
    stack: t.string({ required: true }),
    kind: t.field({ type: StackResourceKind, required: true }),
    name: t.string({ required: true }),
    resourceId: t.id({ required: true, description: 'The resource the stack now owns; it must be visible to you' }),
    applied: t.field({ type: 'JSON', required: true, description: "The resource's spec as applied (its name must be `name`)" }),
  }),
});
