import type { DomainInterface, DomainSpec } from '../driver.ts';

/** Namespace of the metadata element that marks a domain as Orrery's. */
export const ORRERY_NS = 'https://orrery.dev/xmlns/libvirt/instance/1';

/**
 * PCIe root ports of every domain. A q35 guest takes a hot-plugged NIC only on a free root port
 * and libvirt leaves at most one free, so the domain gets these (Nova's num_pcie_ports): its own
 * devices take some, the rest wait for hot-plugs (libvirt adds ports if the devices need more).
 */
const PCIE_ROOT_PORTS = 16;

/** Nova's `virt_type`: 'kvm' needs hardware virtualization, 'qemu' is TCG emulation. */
export type VirtType = 'kvm' | 'qemu';

export interface DomainFiles {
  diskPath: string;
  consoleLogPath: string;
  /** The guest-agent channel's socket (used when the image asks for one, as Nova's hw_qemu_guest_agent). */
  guestAgentSocketPath: string;
  /** The config drive's ISO image (used when the spec has one). */
  configDrivePath: string;
}

/**
 * The domain of one instance. The name and uuid are the instance id, so events (which carry the
 * name) and commands (which accept the uuid) need no lookup; the display name goes in the title
 * (one line: libvirt refuses a title with line breaks).
 */
export function buildDomainXml(spec: DomainSpec, files: DomainFiles, virtType: VirtType): string {
  return `<domain type='${virtType}'>
  <name>${spec.instanceId}</name>
  <uuid>${spec.instanceId}</uuid>
  <title>${esc(spec.name.replace(/[\r\n]+/g, ' '))}</title>
  <metadata>
    <orrery:instance xmlns:orrery='${ORRERY_NS}'>
      <orrery:id>${spec.instanceId}</orrery:id>
      <orrery:name>${esc(spec.name)}</orrery:name>
      <orrery:generation>${spec.generation}</orrery:generation>
      <orrery:image>${esc(spec.imageId)}</orrery:image>
    </orrery:instance>
  </metadata>
  <memory unit='MiB'>${spec.memoryMb}</memory>
  <vcpu>${spec.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/></features>
  ${cpuXml(virtType)}
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
${pcieControllersXml()}    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${esc(files.diskPath)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
${spec.configDrive ? configDriveXml(files.configDrivePath, cdromBus(spec)) : ''}    <serial type='pty'>
      <log file='${esc(files.consoleLogPath)}' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
${spec.interfaces.map(interfaceXml).join('')}${wantsGuestAgent(spec) ? guestAgentXml(files.guestAgentSocketPath) : ''}    <graphics type='vnc' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/**
 * The rescue variant of a domain Orrery defined: it boots from a fresh disk on the rescue image,
 * with the instance's own disk attached second (vdb), as Nova's rescue does.
 */
export function rescueDomainXml(domainXml: string, rescueDiskPath: string): string {
  const ownTarget = `<target dev='vda' bus='virtio'/>`;
  if (!domainXml.includes(ownTarget)) throw new Error('not a domain XML this driver wrote');
  const rescueDisk = `<disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${esc(rescueDiskPath)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    `;
  return domainXml.replace(ownTarget, `<target dev='vdb' bus='virtio'/>`).replace('<disk ', `${rescueDisk}<disk `);
}

/** A domain Orrery defined, with other vCPUs and RAM (a resize in place); everything else kept. */
export function resizedDomainXml(domainXml: string, size: { vcpus: number; memoryMb: number }): string {
  const memory = /<memory unit='MiB'>\d+<\/memory>/;
  const vcpu = /<vcpu>\d+<\/vcpu>/;
  if (!memory.test(domainXml) || !vcpu.test(domainXml)) throw new Error('not a domain XML this driver wrote');
  return domainXml.replace(memory, `<memory unit='MiB'>${size.memoryMb}</memory>`).replace(vcpu, `<vcpu>${size.vcpus}</vcpu>`);
}

/** A domain Orrery defined, with this NIC too (a hot-plug); unchanged when it has one with that MAC. */
export function withInterface(domainXml: string, nic: DomainInterface): string {
  if (domainXml.includes(`<mac address='${esc(nic.mac)}'/>`)) return domainXml;
  if (!domainXml.includes('  </devices>')) throw new Error('not a domain XML this driver wrote');
  return domainXml.replace('  </devices>', `${interfaceXml(nic)}  </devices>`);
}

/** A domain Orrery defined, without the NIC of that MAC (an unplug). */
export function withoutInterface(domainXml: string, mac: string): string {
  return domainXml.replace(/[ \t]*<interface\b[\s\S]*?<\/interface>\n?/g, (el) => (el.includes(`<mac address='${esc(mac)}'/>`) ? '' : el));
}

/** A tap on the port's bridge, created and attached by libvirt when the guest starts (or the NIC is hot-plugged). */
export function interfaceXml(nic: DomainInterface): string {
  return `    <interface type='bridge'>
      <mac address='${esc(nic.mac)}'/>
      <source bridge='${esc(nic.bridge)}'/>
      <target dev='${esc(nic.tap)}'/>
      <model type='virtio'/>
      <mtu size='${nic.mtu}'/>
    </interface>
`;
}

/**
 * Nova's image property hw_cdrom_bus: SATA by default on q35 (Nova's choice there); `scsi` puts the
 * CD-ROM on a virtio-scsi controller, for guests whose kernel has no AHCI driver (cloud kernels).
 */
function cdromBus(spec: DomainSpec): 'sata' | 'scsi' {
  return spec.imageProperties.hw_cdrom_bus === 'scsi' ? 'scsi' : 'sata';
}

/** Nova's config drive: the ISO as a read-only CD-ROM. */
function configDriveXml(isoPath: string, bus: 'sata' | 'scsi'): string {
  const controller = bus === 'scsi' ? `    <controller type='scsi' model='virtio-scsi'/>\n` : '';
  return `${controller}    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='${esc(isoPath)}'/>
      <target dev='sda' bus='${bus}'/>
      <readonly/>
    </disk>
`;
}

function pcieControllersXml(): string {
  let xml = `    <controller type='pci' index='0' model='pcie-root'/>\n`;
  for (let i = 1; i <= PCIE_ROOT_PORTS; i++) xml += `    <controller type='pci' index='${i}' model='pcie-root-port'/>\n`;
  return xml;
}

/** Nova's image property: any of its "true" spellings adds the channel. */
function wantsGuestAgent(spec: DomainSpec): boolean {
  return /^(yes|true|1|on)$/i.test(spec.imageProperties.hw_qemu_guest_agent ?? '');
}

function guestAgentXml(socketPath: string): string {
  return `    <channel type='unix'>
      <source mode='bind' path='${esc(socketPath)}'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
`;
}

/** As Nova's cpu_mode defaults: the host's model under KVM; a portable model under TCG. */
function cpuXml(virtType: VirtType): string {
  return virtType === 'kvm'
    ? `<cpu mode='host-model'/>`
    : `<cpu mode='custom' match='exact' check='none'><model fallback='allow'>qemu64</model></cpu>`;
}

function esc(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
