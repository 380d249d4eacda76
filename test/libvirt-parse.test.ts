import { describe, expect, it } from 'vitest';
import { buildDomainXml, ORRERY_NS, withInterface, withoutInterface } from '../hostagent/drivers/libvirt/domain-xml.ts';
import {
  interfaceElements,
  parseCapabilities,
  parseDomainXml,
  parseDomstats,
  parseHypervisorVersion,
  parseNodeinfo,
  splitDomainXmls,
} from '../hostagent/drivers/libvirt/parse.ts';
import { powerStateOf } from '../hostagent/drivers/libvirt/power-state.ts';
import { serialPty, vncEndpoint } from '../hostagent/drivers/libvirt/console.ts';

// Outputs as virsh 9.0 printed them on this machine.
const DOMSTATS = `Domain: 'a1'
  state.state=1
  state.reason=1

Domain: 'b2'
  state.state=5
  state.reason=2
`;

const ID = '6f1c0a52-2a5e-4c44-9a1f-0c5b8e8f3a10';

describe('virsh output parsing', () => {
  it('reads domstats', () => {
    expect(parseDomstats(DOMSTATS)).toEqual(
      new Map([
        ['a1', { state: 1, reason: 1 }],
        ['b2', { state: 5, reason: 2 }],
      ]),
    );
    expect(parseDomstats('')).toEqual(new Map());
  });

  it('reads back the domain XML it builds, and tells strangers apart', () => {
    const ours = buildDomainXml(
      {
        instanceId: ID,
        name: `it's <web> & "db"`,
        generation: 12,
        imageId: 'img-<1>',
        vcpus: 2,
        memoryMb: 256,
        diskGb: 1,
        imagePath: '/images/x',
        imageFormat: 'qcow2',
        imageProperties: {},
        userData: null,
        metadata: {},
        interfaces: [],
        configDrive: null,
      },
      { diskPath: '/i/disk', consoleLogPath: '/i/console.log', guestAgentSocketPath: '/i/guest-agent.sock', configDrivePath: '/i/disk.config' },
      'qemu',
    );
    expect(ours).not.toContain('<interface');
    expect(ours).not.toContain('<channel');
    expect(ours).toContain(`<title>it&#39;s &#60;web&#62; &#38; &#34;db&#34;</title>`);
    // libvirt re-serializes metadata with its own quoting; both must parse.
    const stranger = `<domain type='kvm'>\n  <name>x&amp;y</name>\n  <uuid>AB7A8C5E-0000-4000-8000-000000000001</uuid>\n</domain>`;
    const relabelled = ours.replace(`xmlns:orrery='${ORRERY_NS}'`, `xmlns:o="${ORRERY_NS}"`).replaceAll('orrery:', 'o:');
    const xmls = splitDomainXmls(`${ours}\n${stranger}\n${relabelled}\n`);
    expect(xmls.map(parseDomainXml)).toEqual([
      { name: ID, uuid: ID, managed: true, generation: 12, imageId: 'img-<1>', macs: [] },
      { name: 'x&y', uuid: 'ab7a8c5e-0000-4000-8000-000000000001', managed: false, generation: 0, imageId: null, macs: [] },
      { name: ID, uuid: ID, managed: true, generation: 12, imageId: 'img-<1>', macs: [] },
    ]);
  });

  it('gives each NIC its port\'s MAC, tap and bridge, and the guest-agent channel when the image asks', () => {
    const xml = buildDomainXml(
      {
        instanceId: ID, name: 'nics', generation: 1, imageId: 'img', vcpus: 1, memoryMb: 128, diskGb: 1,
        imagePath: '/images/x', imageFormat: 'qcow2', imageProperties: { hw_qemu_guest_agent: 'yes' }, userData: null, metadata: {},
        configDrive: null,
        interfaces: [
          { mac: 'fa:16:3e:00:00:01', bridge: 'obr-7', tap: 'tap0123456789a', mtu: 1450 },
          { mac: 'fa:16:3e:00:00:02', bridge: 'br-ext', tap: 'tapbcdef012345', mtu: 1500 },
        ],
      },
      { diskPath: '/i/disk', consoleLogPath: '/i/console.log', guestAgentSocketPath: '/i/guest-agent.sock', configDrivePath: '/i/disk.config' },
      'qemu',
    );
    const nics = [...xml.matchAll(/<interface type='bridge'>([\s\S]*?)<\/interface>/g)].map((m) => m[1]!.replace(/\s+/g, ' ').trim());
    expect(nics).toEqual([
      `<mac address='fa:16:3e:00:00:01'/> <source bridge='obr-7'/> <target dev='tap0123456789a'/> <model type='virtio'/> <mtu size='1450'/>`,
      `<mac address='fa:16:3e:00:00:02'/> <source bridge='br-ext'/> <target dev='tapbcdef012345'/> <model type='virtio'/> <mtu size='1500'/>`,
    ]);
    expect(xml).toContain(`<source mode='bind' path='/i/guest-agent.sock'/>`);
    expect(xml).toContain(`<target type='virtio' name='org.qemu.guest_agent.0'/>`);
    expect(parseDomainXml(xml).macs).toEqual(['fa:16:3e:00:00:01', 'fa:16:3e:00:00:02']);
    // Free PCIe root ports for hot-plugs (q35 takes a hot-plugged NIC only on one).
    expect(xml.match(/model='pcie-root-port'/g)).toHaveLength(16);
  });

  it("attaches a config drive as a read-only CD-ROM: on SATA by default, on virtio-scsi when the image's hw_cdrom_bus says scsi", () => {
    const spec = {
      instanceId: ID, name: 'cd', generation: 1, imageId: 'img', vcpus: 1, memoryMb: 128, diskGb: 1, imagePath: '/images/x',
      imageFormat: 'qcow2' as const, imageProperties: {}, userData: null, metadata: {}, interfaces: [],
      configDrive: new Map([['openstack/latest/meta_data.json', Buffer.from('{}')]]),
    };
    const files = { diskPath: '/i/disk', consoleLogPath: '/i/c.log', guestAgentSocketPath: '/i/ga.sock', configDrivePath: '/i/disk.config' };
    const cdrom = (xml: string) => xml.match(/<disk type='file' device='cdrom'>[\s\S]*?<\/disk>/)?.[0].replace(/\s+/g, ' ');
    const sata = buildDomainXml(spec, files, 'qemu');
    expect(cdrom(sata)).toBe(`<disk type='file' device='cdrom'> <driver name='qemu' type='raw'/> <source file='/i/disk.config'/> <target dev='sda' bus='sata'/> <readonly/> </disk>`);
    expect(sata).not.toContain('virtio-scsi');
    const scsi = buildDomainXml({ ...spec, imageProperties: { hw_cdrom_bus: 'scsi' } }, files, 'qemu');
    expect(cdrom(scsi)).toContain(`<target dev='sda' bus='scsi'/>`);
    expect(scsi).toContain(`<controller type='scsi' model='virtio-scsi'/>`);
    expect(buildDomainXml({ ...spec, configDrive: null }, files, 'qemu')).not.toContain('cdrom');
  });

  it('adds and removes a NIC in the kept domain XML, by MAC, and reads NICs as libvirt prints them', () => {
    const spec = {
      instanceId: ID, name: 'hot', generation: 1, imageId: 'img', vcpus: 1, memoryMb: 128, diskGb: 1,
      imagePath: '/images/x', imageFormat: 'qcow2' as const, imageProperties: {}, userData: null, metadata: {}, configDrive: null,
      interfaces: [{ mac: 'fa:16:3e:00:00:01', bridge: 'obr-7', tap: 'tap0123456789a', mtu: 1450 }],
    };
    const xml = buildDomainXml(spec, { diskPath: '/i/disk', consoleLogPath: '/i/c.log', guestAgentSocketPath: '/i/ga.sock', configDrivePath: '/i/disk.config' }, 'qemu');
    const nic = { mac: 'fa:16:3e:00:00:02', bridge: 'br-x', tap: 'tapbcdef012345', mtu: 1500 };
    const plugged = withInterface(xml, nic);
    expect(parseDomainXml(plugged).macs).toEqual(['fa:16:3e:00:00:01', 'fa:16:3e:00:00:02']);
    expect(withInterface(plugged, nic)).toBe(plugged);
    expect(withoutInterface(plugged, nic.mac)).toBe(xml);
    expect(parseDomainXml(withoutInterface(xml, 'fa:16:3e:00:00:01')).macs).toEqual([]);
    // libvirt's own serialization: attributes it adds, upper case from a hand-written definition.
    const live = `<domain><name>a</name><uuid>${ID}</uuid><devices>
      <interface type='bridge'>
        <mac address='FA:16:3E:AA:BB:CC'/>
        <source bridge='br-x'/>
        <target dev='tapx'/>
        <model type='virtio'/>
        <alias name='net0'/>
        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
      </interface>
      <interface type='network'><mac address="52:54:00:01:02:03"/><source network='default'/></interface>
    </devices></domain>`;
    const elements = interfaceElements(live);
    expect(elements.map((e) => e.mac)).toEqual(['fa:16:3e:aa:bb:cc', '52:54:00:01:02:03']);
    expect(elements[0]!.xml).toMatch(/^<interface type='bridge'>[\s\S]*<alias name='net0'\/>[\s\S]*<\/interface>$/);
  });

  it('reads nodeinfo, capabilities and version', () => {
    expect(parseNodeinfo('CPU model:           x86_64\nCPU(s):              2\nMemory size:         4417748 KiB\n')).toEqual({
      cpus: 2,
      memoryKib: 4417748,
    });
    const caps = `<capabilities>\n  <host>\n    <uuid>u</uuid>\n    <cpu>\n      <arch>x86_64</arch>\n      <model>kvm64</model>\n      <vendor>AMD</vendor>\n      <feature name='vme'/>\n      <feature name='sse4.2'/>\n    </cpu>\n  </host>\n  <guest><arch name='i686'><cpu><model>ignored</model></cpu></arch></guest>\n</capabilities>`;
    expect(parseCapabilities(caps)).toEqual({ arch: 'x86_64', model: 'kvm64', features: ['vme', 'sse4.2'] });
    expect(parseHypervisorVersion('Compiled against library: libvirt 9.0.0\nRunning hypervisor: QEMU 7.2.22\n')).toEqual({
      type: 'QEMU',
      version: '7.2.22',
    });
  });
});

describe('power state mapping', () => {
  it.each([
    [{ state: 1, reason: 1 }, false, 'running'],
    [{ state: 2, reason: 0 }, false, 'running'],
    [{ state: 3, reason: 1 }, false, 'paused'],
    [{ state: 5, reason: 1 }, false, 'shutdown'],
    [{ state: 5, reason: 2 }, false, 'shutdown'], // destroyed behind our back
    [{ state: 5, reason: 3 }, false, 'crashed'],
    [{ state: 5, reason: 5 }, true, 'suspended'], // managed save
    [{ state: 5, reason: 5 }, false, 'shutdown'], // saved, but the image was removed since
    [{ state: 6, reason: 0 }, false, 'crashed'],
    [{ state: 7, reason: 0 }, false, 'suspended'],
    [{ state: 0, reason: 0 }, false, 'nostate'],
  ] as const)('%o with managed save %s is %s', (raw, managedSave, expected) => {
    expect(powerStateOf(raw, managedSave)).toBe(expected);
  });
});

// A running domain's devices as libvirt 9.0 shows them live, and the same domain shut off.
const LIVE_CONSOLES = `    <serial type='pty'>
      <source path='/dev/pts/3'/>
      <log file='/var/lib/orrery/instances/x/console.log' append='on'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/3'>
      <source path='/dev/pts/3'/>
      <target type='serial' port='0'/>
    </console>
    <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>`;
const OFF_CONSOLES = `    <serial type='pty'>
      <log file='/var/lib/orrery/instances/x/console.log' append='on'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>`;

describe('console endpoints from the live domain XML', () => {
  it("finds the VNC port autoport picked and the serial port's pty", () => {
    expect(vncEndpoint(LIVE_CONSOLES)).toEqual({ host: '127.0.0.1', port: 5901 });
    expect(serialPty(LIVE_CONSOLES)).toBe('/dev/pts/3');
  });

  it('finds neither on a domain that is off, and never a path that is not a pty', () => {
    expect(vncEndpoint(OFF_CONSOLES)).toBeNull();
    expect(serialPty(OFF_CONSOLES)).toBeNull();
    expect(serialPty(LIVE_CONSOLES.replace('/dev/pts/3', '/etc/shadow'))).toBeNull();
  });
});
