import type { HostView } from './types.ts';

/**
 * Nova's JsonFilter language over host state: ["and", [">=", "$free_ram_mb", 1024], ["in",
 * "$hypervisor_type", "kvm", "qemu"]]. Strings starting with "$" name host variables (dots walk
 * nested objects); a variable the host lacks is dropped from its list, as in Nova, so a comparison
 * left with fewer than two operands is false.
 */
const OPS = ['=', '<', '>', '<=', '>=', 'in', 'not', 'or', 'and'] as const;
type Op = (typeof OPS)[number];

/** The host variables a query may name. */
export function queryVariables(host: HostView): Record<string, unknown> {
  return {
    host: host.name,
    zone: host.zone,
    free_ram_mb: host.capacityMemoryMb - host.usedMemoryMb,
    total_usable_ram_mb: host.capacityMemoryMb,
    free_disk_mb: (host.capacityDiskGb - host.usedDiskGb) * 1024,
    free_disk_gb: host.capacityDiskGb - host.usedDiskGb,
    total_usable_disk_gb: host.capacityDiskGb,
    vcpus_total: host.capacityVcpus,
    vcpus_used: host.usedVcpus,
    num_instances: host.numInstances,
    num_io_ops: host.numIoOps,
    hypervisor_type: host.hypervisorType,
    hypervisor_version: host.hypervisorVersion,
    architecture: host.architecture,
    capabilities: host.capabilities,
  };
}

/** Why a query is malformed (the path of the offending part), or null when it is well formed. */
export function queryProblem(q: unknown, path = 'query'): string | null {
  if (!Array.isArray(q) || q.length === 0) return `${path} must be a non-empty array [operator, operands…]`;
  if (!OPS.includes(q[0] as Op)) return `${path}[0] must be one of ${OPS.join(', ')}`;
  for (let i = 1; i < q.length; i++) {
    const a = q[i];
    if (Array.isArray(a)) {
      const p = queryProblem(a, `${path}[${i}]`);
      if (p) return p;
    } else if (a !== null && typeof a === 'object') return `${path}[${i}] must be a value or a sub-query`;
  }
  return null;
}

function variable(name: string, vars: Record<string, unknown>): unknown {
  let v: unknown = vars;
  for (const part of name.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function compare(args: unknown[], cmp: (a: never, b: never) => boolean): boolean {
  if (args.length < 2) return false;
  return args.slice(1).every((b) => cmp(args[0] as never, b as never));
}

export function evaluateQuery(q: unknown[], vars: Record<string, unknown>): boolean {
  const args: unknown[] = [];
  for (const a of q.slice(1)) {
    const v = Array.isArray(a) ? evaluateQuery(a, vars) : typeof a === 'string' && a.startsWith('$') ? variable(a.slice(1), vars) : a;
    if (v !== undefined && v !== null) args.push(v);
  }
  switch (q[0] as Op) {
    case '=': return compare(args, (a, b) => a === b);
    case '<': return compare(args, (a, b) => a < b);
    case '>': return compare(args, (a, b) => a > b);
    case '<=': return compare(args, (a, b) => a <= b);
    case '>=': return compare(args, (a, b) => a >= b);
    case 'in': return args.length >= 2 && args.slice(1).includes(args[0]);
    case 'not': return !args[0];
    case 'or': return args.some(Boolean);
    case 'and': return args.every(Boolean);
  }
}
