import { matchesExtraSpec } from '../extra-specs-match.ts';
import type { Filter } from '../types.ts';

/** Spellings of one architecture that Nova treats as the same (its canonicalize step). */
const ARCH_ALIASES: Record<string, string> = { amd64: 'x86_64', x64: 'x86_64', arm64: 'aarch64', i386: 'i686', x86: 'i686' };
const arch = (s: string) => ARCH_ALIASES[s.toLowerCase()] ?? s.toLowerCase();

/** "6.2.0" → 6002000 (Nova's convert_version_to_int), padded to three parts so "9.0" compares with "8.2.0". */
function versionToInt(v: string): number {
  const parts = [...v.split('.'), '0', '0', '0'].slice(0, 3);
  return parts.reduce((acc, part) => acc * 1000 + (Number.parseInt(part, 10) || 0), 0);
}

/**
 * The image's needs (hw_architecture, img_hv_type, img_hv_requested_version; the pre-"hw_"
 * names too) against the host's architecture, hypervisor type and version. An image that asks
 * for nothing fits anywhere.
 */
export const imagePropertiesFilter: Filter = {
  name: 'ImageProperties',
  check(req, host) {
    const p = req.image.properties;
    const wantArch = p.hw_architecture ?? p.architecture;
    if (wantArch && arch(wantArch) !== arch(host.architecture)) {
      return `architecture ${host.architecture || '(unreported)'}, image ${req.image.name} needs ${wantArch}`;
    }
    const wantHv = p.img_hv_type ?? p.hypervisor_type;
    if (wantHv && wantHv.toLowerCase() !== host.hypervisorType.toLowerCase()) {
      return `hypervisor ${host.hypervisorType || '(unreported)'}, image ${req.image.name} needs ${wantHv}`;
    }
    const wantVersion = p.img_hv_requested_version;
    if (wantVersion) {
      const [op, v] = wantVersion.trim().split(/\s+/);
      const requirement = v === undefined ? `>= ${versionToInt(op!)}` : `${op} ${versionToInt(v)}`;
      if (!host.hypervisorVersion || !matchesExtraSpec(versionToInt(host.hypervisorVersion), requirement)) {
        return `hypervisor version ${host.hypervisorVersion || '(unreported)'}, image ${req.image.name} needs ${wantVersion}`;
      }
    }
    return null;
  },
};
