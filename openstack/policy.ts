import type { RequestHandler } from 'express';
import { OsError } from './errors.ts';
import { ctxOf } from './http.ts';

/**
 * Each route is named by the rule Nova, Keystone or Glance would check, and that name maps onto
 * the Orrery rule its GraphQL operation checks: operators read Nova's name in a 403, and the
 * decision is Orrery's policy file (one set of rules, however the caller came in).
 */
export const RULES = {
  'identity:list_projects': 'project:list',
  'identity:list_users': 'user:list',
  'os_compute_api:servers:index': 'instance:list',
  'os_compute_api:servers:detail': 'instance:list',
  'os_compute_api:servers:index:get_all_tenants': 'instance:list_all_projects',
  'os_compute_api:servers:show': 'instance:get',
  'os_compute_api:servers:create': 'instance:create',
  'os_compute_api:servers:update': 'instance:update',
  'os_compute_api:servers:delete': 'instance:delete',
  'os_compute_api:servers:start': 'instance:update',
  'os_compute_api:servers:stop': 'instance:update',
  'os_compute_api:os-pause-server:pause': 'instance:update',
  'os_compute_api:os-pause-server:unpause': 'instance:update',
  'os_compute_api:os-suspend-server:suspend': 'instance:update',
  'os_compute_api:os-suspend-server:resume': 'instance:update',
  'os_compute_api:os-lock-server:lock': 'instance:update',
  'os_compute_api:os-lock-server:unlock': 'instance:update',
  'os_compute_api:servers:reboot': 'instance:reboot',
  'os_compute_api:servers:rebuild': 'instance:update',
  'os_compute_api:servers:resize': 'instance:resize',
  'os_compute_api:servers:confirm_resize': 'instance:resize',
  'os_compute_api:servers:revert_resize': 'instance:resize',
  'os_compute_api:servers:create_image': 'instance:snapshot',
  'os_compute_api:os-shelve:shelve': 'instance:shelve',
  'os_compute_api:os-shelve:shelve_offload': 'instance:shelve',
  'os_compute_api:os-shelve:unshelve': 'instance:unshelve',
  'os_compute_api:os-migrate-server:migrate': 'instance:migrate',
  'os_compute_api:os-migrate-server:migrate_live': 'instance:live_migrate',
  'os_compute_api:os-evacuate': 'instance:evacuate',
  'os_compute_api:os-rescue': 'instance:rescue',
  'os_compute_api:os-unrescue': 'instance:rescue',
  'os_compute_api:os-console-output': 'instance:console_output',
  'os_compute_api:os-remote-consoles': 'instance:create_console',
  'os_compute_api:os-instance-actions:list': 'instance:actions',
  'os_compute_api:os-instance-actions:show': 'instance:actions',
  'os_compute_api:os-attach-interfaces:list': 'instance:get',
  'os_compute_api:os-attach-interfaces:show': 'instance:get',
  'os_compute_api:os-attach-interfaces:create': 'instance:attach_interface',
  'os_compute_api:os-attach-interfaces:delete': 'instance:detach_interface',
  'os_compute_api:ips:index': 'instance:get',
  'os_compute_api:os-server-tags:index': 'instance:get',
  'os_compute_api:os-server-tags:show': 'instance:get',
  'os_compute_api:os-server-tags:update': 'instance:update',
  'os_compute_api:os-server-tags:update_all': 'instance:update',
  'os_compute_api:os-server-tags:delete': 'instance:update',
  'os_compute_api:os-server-tags:delete_all': 'instance:update',
  'os_compute_api:os-flavor-manage:create': 'flavor:create',
  'os_compute_api:os-flavor-manage:delete': 'flavor:delete',
  'os_compute_api:os-flavor-extra-specs:index': 'flavor:list',
  'os_compute_api:flavors:index': 'flavor:list',
  'os_compute_api:os-keypairs:index': 'keypair:list',
  'os_compute_api:os-keypairs:show': 'keypair:list',
  'os_compute_api:os-keypairs:create': 'keypair:create',
  'os_compute_api:os-keypairs:delete': 'keypair:delete',
  'os_compute_api:os-availability-zone:list': 'zone:list',
  'os_compute_api:os-aggregates:index': 'aggregate:list',
  'os_compute_api:os-aggregates:show': 'aggregate:list',
  'os_compute_api:os-aggregates:create': 'aggregate:create',
  'os_compute_api:os-aggregates:add_host': 'aggregate:update',
  'os_compute_api:os-aggregates:remove_host': 'aggregate:update',
  'os_compute_api:os-aggregates:set_metadata': 'aggregate:update',
  'os_compute_api:os-aggregates:delete': 'aggregate:delete',
  'os_compute_api:os-hypervisors:list': 'host:list',
  'os_compute_api:os-services:list': 'host:list',
  'os_compute_api:os-server-groups:index': 'server_group:list',
  'os_compute_api:os-server-groups:show': 'server_group:list',
  'os_compute_api:os-server-groups:create': 'server_group:create',
  'os_compute_api:os-server-groups:delete': 'server_group:delete',
  'os_compute_api:os-quota-sets:show': 'quota:show',
  'os_compute_api:os-quota-sets:update': 'quota:update',
  'os_compute_api:limits': 'quota:show',
  'get_images': 'image:list',
  'get_image': 'image:list',
  'add_image': 'image:create',
  'modify_image': 'image:update',
  'delete_image': 'image:delete',
  'upload_image': 'image:upload',
  'download_image': 'image:download',
} as const;

export type RuleName = keyof typeof RULES;

export function allowed(res: Parameters<typeof ctxOf>[0], rule: RuleName): boolean {
  const ctx = ctxOf(res);
  return ctx.policy.allows(ctx.principal, RULES[rule]);
}

/** Refuses before the handler runs, with Nova's wording; the GraphQL operation checks the same rule again. */
export function allow(rule: RuleName): RequestHandler {
  return (_req, res, next) => {
    if (allowed(res, rule)) next();
    else next(new OsError(403, `Policy doesn't allow ${rule} to be performed.`));
  };
}
