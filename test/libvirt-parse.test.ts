import { describe, expect, it } from 'vitest';
import { buildDomainXml, ORRERY_NS } from '../hostagent/drivers/libvirt/domain-xml.ts';
import {
  parseCapabilities,
  parseDomainXml,
  parseDomstats,
  parseHypervisorVersion,
  parseNodeinfo,
  splitDomainXmls,
} from '../hostagent/drivers/libvirt/parse.ts';
import { powerStateOf } from '../hostagent/drivers/libvirt/power-state.ts';

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
      },
      { diskPath: '/i/disk', consoleLogPath: '/i/console.log', guestAgentSocketPath: '/i/guest-agent.sock' },
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
      { name: ID, uuid: ID, managed: true, generation: 12, imageId: 'img-<1>' },
      { name: 'x&y', uuid: 'ab7a8c5e-0000-4000-8000-000000000001', managed: false, generation: 0, imageId: null },
      { name: ID, uuid: ID, managed: true, generation: 12, imageId: 'img-<1>' },
    ]);
  });

  it('gives each NIC its port\'s MAC, tap and bridge, and the guest-agent channel when the image asks', () => {
    const xml = buildDomainXml(
      {
        instanceId: ID, name: 'nics', generation: 1, imageId: 'img', vcpus: 1, memoryMb: 128, diskGb: 1,
        imagePath: '/images/x', imageFormat: 'qcow2', imageProperties: { hw_qemu_guest_agent: 'yes' }, userData: null, metadata: {},
        interfaces: [
          { mac: 'fa:16:3e:00:00:01', bridge: 'obr-7', tap: 'tap0123456789a', mtu: 1450 },
          { mac: 'fa:16:3e:00:00:02', bridge: 'br-ext', tap: 'tapbcdef012345', mtu: 1500 },
        ],
      },
      { diskPath: '/i/disk', consoleLogPath: '/i/console.log', guestAgentSocketPath: '/i/guest-agent.sock' },
      'qemu',
    );
    const nics = [...xml.matchAll(/<interface type='bridge'>([\s\S]*?)<\/interface>/g)].map((m) => m[1]!.replace(/\s+/g, ' ').trim());
    expect(nics).toEqual([
      `<mac address='fa:16:3e:00:00:01'/> <source bridge='obr-7'/> <target dev='tap0123456789a'/> <model type='virtio'/> <mtu size='1450'/>`,
      `<mac address='fa:16:3e:00:00:02'/> <source bridge='br-ext'/> <target dev='tapbcdef012345'/> <model type='virtio'/> <mtu size='1500'/>`,
    ]);
    expect(xml).toContain(`<source mode='bind' path='/i/guest-agent.sock'/>`);
    expect(xml).toContain(`<target type='virtio' name='org.qemu.guest_agent.0'/>`);
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
