import { NotFoundError } from '../core/errors.ts';
import { validate } from '../core/validate.ts';
import type { Sql } from '../db/connect.ts';
import { loadAllHosts } from '../reconciler/placement/hosts.ts';
import { allWeighers, enabledFilters } from '../reconciler/placement/registry.ts';
import { placementRequest } from '../reconciler/placement/request.ts';
import { schedule, summariseRejections, type ScheduleResult } from '../reconciler/placement/schedule.ts';
import { builder } from '../schema/builder.ts';
import type { Context } from '../schema/context.ts';
import { instanceSpecSchema, type InstanceSpec } from '../schema/documents/instance.ts';
import { ExplainPlacementInput, PlacementExplanationType, type HostVerdict, type PlacementExplanation } from '../schema/types/scheduler.ts';
import { findFlavor, findImage, findProject, findZone } from '../store/references.ts';
import { currentSchedulerConfig } from '../store/scheduler-config.ts';
import { compact } from './compact.ts';
import { resolveSchedulingSpec, schedulingLookups } from './scheduler-instance-spec.ts';
import { requireUser } from './scope.ts';

type ExplainInput = typeof ExplainPlacementInput.$inferInput;

function verdicts(result: ScheduleResult): HostVerdict[] {
  const ranked = result.ranked.map((r, i) => ({ host: r.host.name, passed: true, filter: null, reason: null, weight: r.weight, rank: i + 1 }));
  const rejected = result.rejected
    .map((r) => ({ host: r.host.name, passed: false, filter: r.filter.name, reason: r.reason, weight: null, rank: null }))
    .sort((a, b) => a.host.localeCompare(b.host));
  return [...ranked, ...rejected];
}

/** The project to explain as: the caller's own, or (admins hold this rule anyway) the one named. */
async function projectOf(sql: Sql, ref: string | null | undefined, own: string): Promise<string> {
  if (!ref) return own;
  const p = await findProject(sql, ref);
  if (!p) throw new NotFoundError('project', ref, 'input.project');
  return p.id;
}

/**
 * Runs the real filters and weighers over the whole fleet without claiming anything: what
 * would happen to this instance, and for every host why not.
 */
async function explain(ctx: Context, input: ExplainInput): Promise<PlacementExplanation> {
  const user = requireUser(ctx);
  const projectId = await projectOf(ctx.sql, input.project, user.projectId);
  const hints = input.schedulerHints ? compact(input.schedulerHints) : undefined;
  const doc = compact({ name: 'explain', flavor: input.flavor, image: input.image, zone: input.zone, serverGroup: input.serverGroup, schedulerHints: hints });
  const spec = validate<InstanceSpec>(instanceSpecSchema, doc);
  const flavor = await findFlavor(ctx.sql, spec.flavor, projectId);
  if (!flavor) throw new NotFoundError('flavor', spec.flavor, 'input.flavor');
  const image = await findImage(ctx.sql, spec.image, projectId);
  if (!image) throw new NotFoundError('image', spec.image, 'input.image');
  const zone = spec.zone ? await findZone(ctx.sql, spec.zone) : null;
  if (spec.zone && !zone) throw new NotFoundError('availability zone', spec.zone, 'input.zone');
  const scheduling = await resolveSchedulingSpec(spec, schedulingLookups(ctx, { ...user, projectId }));
  const config = await currentSchedulerConfig(ctx.sql);
  const req = await placementRequest(ctx.sql, {
    projectId, flavorId: flavor.id, imageId: image.id, zone: zone?.name ?? null, group: scheduling.group,
    hints: scheduling.hints, failedHostIds: [], instanceId: null, config,
  });
  const hosts = await loadAllHosts(ctx.sql, ctx.config.serviceDownSeconds);
  const result = schedule(req, hosts, enabledFilters(config), allWeighers);
  const best = result.ranked[0];
  const summary = best
    ? `${result.ranked.length} of ${hosts.length} hosts pass; best ${best.host.name}` +
      (result.rejected.length ? `. ${summariseRejections(req, hosts.length, result.rejected)}` : '')
    : `No valid host was found. ${summariseRejections(req, hosts.length, result.rejected)}`;
  return { summary, configVersion: config.version, filters: config.filters, hosts: verdicts(result) };
}

builder.queryFields((t) => ({
  explainPlacement: t.field({
    type: PlacementExplanationType,
    description: 'For a would-be instance: which filter rejected which host and why, or each host\'s weight and rank. Claims nothing.',
    args: { input: t.arg({ type: ExplainPlacementInput, required: true }) },
    authScopes: { policy: 'scheduler:explain' },
    resolve: (_r, { input }, ctx) => explain(ctx, input),
  }),
}));
