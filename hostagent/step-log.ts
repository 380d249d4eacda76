import type { Log } from '../core/log.ts';
import type { HypervisorDriver } from './drivers/driver.ts';

/** Calls that only look: they change nothing on the host, and a pass makes many of them. */
const LOOKS = new Set<PropertyKey>(['hostInfo', 'list', 'instanceFiles', 'onChange', 'name']);

/**
 * The driver as one instance's converge uses it: each step that changes the host (create, stop,
 * reboot, snapshot…) logged with the instance and the request id of the action it serves, once
 * done (info) or failed (warn), so a grep of a request id reaches the host's side.
 */
export function loggedSteps(driver: HypervisorDriver, log: Log): HypervisorDriver {
  return new Proxy(driver, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function' || LOOKS.has(prop) || typeof prop !== 'string') return value;
      return async (...args: unknown[]) => {
        const started = performance.now();
        try {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          log.info({ step: prop, ms: Math.round(performance.now() - started) }, 'driver step');
          return result;
        } catch (e) {
          log.warn({ step: prop, ms: Math.round(performance.now() - started), err: (e as Error).message }, 'driver step failed');
          throw e;
        }
      };
    },
  });
}
