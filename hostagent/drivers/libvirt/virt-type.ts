import { access, readFile } from 'node:fs/promises';
import type { VirtType } from './domain-xml.ts';

/**
 * KVM only when it would really be hardware-assisted: /dev/kvm alone is not enough, since a
 * nested guest without vmx/svm exposes it and then crawls. Otherwise QEMU's TCG emulation.
 */
export async function detectVirtType(): Promise<VirtType> {
  const hasKvmDevice = await access('/dev/kvm').then(
    () => true,
    () => false,
  );
  if (!hasKvmDevice) return 'qemu';
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo) ? 'kvm' : 'qemu';
}
