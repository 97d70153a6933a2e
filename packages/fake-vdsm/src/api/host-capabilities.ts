/**
 * What `Host.getCapabilities` reports for the fake host: every top-level key
 * of the schema's `VdsmCapabilities` (61, `lastClientIface` included) plus the
 * two real VDSM sends beyond the schema (`deferred_preallocation`,
 * `kernelFeatures`), in the order oVirt/vdsm:lib/vdsm/host/caps.py `get()`
 * builds them, with the wire types VDSM uses (many numbers are strings).
 *
 * The host is a plausible oVirt 4.5 node: CentOS Stream 9, one socket of an
 * 8-thread Xeon, 32 GiB, one NIC under the `ovirtmgmt` bridge. Values are
 * fixed so tests can rely on them; only the identity (uuid, initiator name,
 * boot uuid) comes from the state directory, and `lastClientIface` from the
 * connection asking.
 */

import type { VdsmCapabilities } from '@vdsm-kit/client/api';

/** Identity of one fake host, stable across restarts on the same state directory. */
export interface HostIdentity {
  /** VDSM's host id (`/etc/vdsm/vdsm.id` on a real host). */
  readonly uuid: string;
}

/** VDSM release the fake claims to be (oVirt/vdsm:lib/vdsm/common/dsaversion.py). */
export const FAKE_VDSM_VERSION = {
  version_name: 'Snow Man',
  software_version: '4.50.5.1',
  software_revision: '1',
  supportedENGINEs: ['4.2', '4.3', '4.4', '4.5'],
  clusterLevels: ['4.2', '4.3', '4.4', '4.5', '4.6', '4.7'],
} as const;

const THREADS = 8;
const MEM_MIB = '31873';
const MGMT_ADDRESS = '192.0.2.10';
const MGMT_GATEWAY = '192.0.2.1';

/** An iSCSI initiator name derived from the host uuid, in the form `iscsi-initiator-utils` generates. */
export function iscsiInitiatorName(identity: HostIdentity): string {
  return `iqn.1994-05.com.redhat:${identity.uuid.replace(/-/g, '').slice(0, 12)}`;
}

/**
 * Builds the capabilities object. `lastClientIface` is the interface the
 * asking client came in on; VDSM's bridge adds it last.
 */
export function hostCapabilities(identity: HostIdentity, lastClientIface: string): VdsmCapabilities {
  const initiator = iscsiInitiatorName(identity);
  const cpus = Array.from({ length: THREADS }, (_, i) => i);
  return {
    kvmEnabled: 'true',
    cpuCores: String(THREADS / 2),
    cpuThreads: String(THREADS),
    cpuSockets: '1',
    onlineCpus: cpus.join(','),
    cpuTopology: cpus.map((cpu) => ({ cpu_id: cpu, numa_cell_id: 0, socket_id: 0, die_id: 0, core_id: cpu % (THREADS / 2) })),
    vdsmToCpusAffinity: [1],
    cpuSpeed: '2194.843',
    cpuModel: 'Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz',
    cpuFlags: CPU_FLAGS,
    ...FAKE_VDSM_VERSION,
    supportedENGINEs: [...FAKE_VDSM_VERSION.supportedENGINEs],
    clusterLevels: [...FAKE_VDSM_VERSION.clusterLevels],
    ...networkCapabilities(),
    hooks: {},
    operatingSystem: { release: '1.el9', version: '9', name: 'RHEL', pretty_name: 'CentOS Stream 9' },
    uuid: identity.uuid,
    packages2: PACKAGES,
    realtimeKernel: false,
    kernelArgs:
      'BOOT_IMAGE=(hd0,msdos1)/vmlinuz-5.14.0-362.24.1.el9.x86_64 root=/dev/mapper/cs-root ro ' +
      'crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M rd.lvm.lv=cs/root rd.lvm.lv=cs/swap',
    nestedVirtualization: false,
    emulatedMachines: EMULATED_MACHINES,
    ISCSIInitiatorName: initiator,
    HBAInventory: { iSCSI: [{ InitiatorName: initiator }], FC: [] },
    vmTypes: ['kvm'],
    memSize: MEM_MIB,
    reservedMem: '321',
    guestOverhead: '65',
    rngSources: ['random', 'hwrng'],
    numaNodes: { '0': { totalMemory: MEM_MIB, hugepages: { '4': { totalPages: '8159522' }, '2048': { totalPages: '0' }, '1048576': { totalPages: '0' } }, cpus } },
    numaNodeDistance: { '0': [10] },
    autoNumaBalancing: 0,
    selinux: { mode: '1' },
    liveSnapshot: 'true',
    liveMerge: 'true',
    kdumpStatus: 0,
    deferred_preallocation: true,
    hostdevPassthrough: 'false',
    additionalFeatures: ['libgfapi_supported'],
    hostedEngineDeployed: false,
    hugepages: [1048576, 2048],
    kernelFeatures: {
      SPECTRE_V1: '(Mitigation: usercopy/swapgs barriers and __user pointer sanitization)',
      SPECTRE_V2: '(Mitigation: Enhanced / Automatic IBRS, IBPB: conditional, RSB filling)',
      ITLB_MULTIHIT: '(KVM: Mitigation: Split huge pages)',
      MDS: '(Not affected)',
      L1TF: '(Not affected)',
      SPEC_STORE_BYPASS: '(Mitigation: Speculative Store Bypass disabled via prctl)',
      TSX_ASYNC_ABORT: '(Mitigation: TSX disabled)',
      SRBDS: '(Not affected)',
      MELTDOWN: '(Not affected)',
    },
    vncEncrypted: false,
    backupEnabled: true,
    fipsEnabled: false,
    boot_uuid: bootUuid(identity),
    tscFrequency: '2194843000',
    tscScaling: false,
    connector_info: {
      platform: 'x86_64',
      os_type: 'linux',
      ip: MGMT_ADDRESS,
      host: 'fake-vdsm.example.com',
      multipath: true,
      initiator,
      do_local_attach: false,
      uuid: identity.uuid,
      'system uuid': identity.uuid,
      nvme_native_multipath: true,
      found_dsc: '',
    },
    domain_versions: [0, 2, 3, 4, 5],
    // Storage type -> block sizes (0 = auto), as lib/vdsm/storage/backends.py
    // `supported_block_size()` and the schema's SupportedBlockSizeMap have it.
    supported_block_size: Object.fromEntries(Object.entries(SUPPORTED_BLOCK_SIZE).map(([type, sizes]) => [type, [...sizes]])),
    zerocopy_migrations: true,
    netConfigDirty: 'False',
    lastClientIface,
  };
}

/** What supervdsm's `network_caps()` contributes: one NIC under the management bridge. */
function networkCapabilities(): Pick<VdsmCapabilities, 'networks' | 'bondings' | 'bridges' | 'nics' | 'vlans'> & Record<string, unknown> {
  const ipv4 = { addr: MGMT_ADDRESS, netmask: '255.255.255.0', gateway: MGMT_GATEWAY, ipv4addrs: [`${MGMT_ADDRESS}/24`], ipv4defaultroute: true };
  const noIpv6 = { ipv6addrs: [], ipv6gateway: '::', ipv6autoconf: false, dhcpv6: false };
  return {
    networks: {
      ovirtmgmt: {
        ports: ['eth0'],
        stp: 'off',
        iface: 'ovirtmgmt',
        bridged: true,
        ...ipv4,
        ...noIpv6,
        dhcpv4: false,
        mtu: '1500',
        switch: 'legacy',
        southbound: 'eth0',
        dns_resolver: [MGMT_GATEWAY],
      },
    },
    bondings: {},
    bridges: {
      ovirtmgmt: {
        ports: ['eth0'],
        stp: 'off',
        ...ipv4,
        ...noIpv6,
        dhcpv4: false,
        mtu: '1500',
        opts: { forward_delay: '0', stp_state: '0', multicast_snooping: '1' },
      },
    },
    nics: {
      eth0: {
        hwaddr: '52:54:00:6b:1a:2c',
        speed: 10000,
        addr: '',
        netmask: '',
        gateway: '',
        ipv4addrs: [],
        ipv4defaultroute: false,
        ...noIpv6,
        dhcpv4: false,
        mtu: '1500',
      },
    },
    vlans: {},
    nameservers: [MGMT_GATEWAY],
    supportsIPv6: true,
    ovnConfigured: false,
  };
}

/** A stable, uuid-shaped boot id derived from the host uuid (a real host reports its root filesystem's). */
function bootUuid(identity: HostIdentity): string {
  const reversed = identity.uuid.replace(/-/g, '').split('').reverse().join('');
  return `${reversed.slice(0, 8)}-${reversed.slice(8, 12)}-${reversed.slice(12, 16)}-${reversed.slice(16, 20)}-${reversed.slice(20, 32)}`;
}

const SUPPORTED_BLOCK_SIZE: Readonly<Record<string, readonly number[]>> = {
  FCP: [512],
  GLUSTERFS: [0, 512, 4096],
  ISCSI: [512],
  LOCALFS: [0, 512, 4096],
  NFS: [512],
  POSIXFS: [512],
};

const CPU_FLAGS = [
  'fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', 'sep', 'mtrr', 'pge', 'mca', 'cmov', 'pat',
  'pse36', 'clflush', 'mmx', 'fxsr', 'sse', 'sse2', 'ss', 'ht', 'syscall', 'nx', 'pdpe1gb', 'rdtscp', 'lm',
  'constant_tsc', 'nopl', 'xtopology', 'cpuid', 'pni', 'pclmulqdq', 'vmx', 'ssse3', 'fma', 'cx16', 'pcid', 'sse4_1',
  'sse4_2', 'x2apic', 'movbe', 'popcnt', 'aes', 'xsave', 'avx', 'f16c', 'rdrand', 'hypervisor', 'lahf_lm', 'abm',
  '3dnowprefetch', 'fsgsbase', 'bmi1', 'hle', 'avx2', 'smep', 'bmi2', 'erms', 'invpcid', 'rtm', 'mpx', 'avx512f',
  'avx512dq', 'rdseed', 'adx', 'smap', 'clflushopt', 'clwb', 'avx512cd', 'avx512bw', 'avx512vl', 'xsaveopt', 'xsavec',
  'xgetbv1', 'xsaves', 'arat', 'pku', 'ospke', 'avx512_vnni', 'md_clear', 'arch_capabilities',
  'model_Skylake-Server-noTSX-IBRS', 'model_Skylake-Server-IBRS', 'model_Cascadelake-Server-noTSX',
  'model_Broadwell-noTSX-IBRS', 'model_Haswell-noTSX-IBRS', 'model_IvyBridge-IBRS', 'model_SandyBridge-IBRS',
  'model_Westmere-IBRS', 'model_Nehalem-IBRS', 'model_Penryn', 'model_Conroe',
].join(',');

const EMULATED_MACHINES = [
  'pc-q35-rhel9.2.0', 'pc-q35-rhel9.0.0', 'pc-q35-rhel8.6.0', 'pc-q35-rhel8.5.0', 'pc-q35-rhel8.4.0',
  'pc-q35-rhel8.3.0', 'pc-q35-rhel8.2.0', 'pc-q35-rhel8.1.0', 'pc-q35-rhel8.0.0', 'pc-q35-rhel7.6.0',
  'pc-i440fx-rhel7.6.0', 'q35', 'pc',
];

const PACKAGES = {
  kernel: { version: '5.14.0', release: '362.24.1.el9.x86_64' },
  vdsm: { version: FAKE_VDSM_VERSION.software_version, release: `${FAKE_VDSM_VERSION.software_revision}.el9` },
  'qemu-kvm': { version: '8.2.0', release: '11.el9' },
  'qemu-img': { version: '8.2.0', release: '11.el9' },
  libvirt: { version: '10.0.0', release: '6.el9' },
  'spice-server': { version: '0.15.1', release: '1.el9' },
  mom: { version: '0.6.5', release: '1.el9' },
  'ovirt-imageio-daemon': { version: '2.5.0', release: '1.el9' },
  nmstate: { version: '2.2.23', release: '1.el9' },
  'glusterfs-cli': { version: '10.4', release: '1.el9s' },
  'openvswitch': { version: '2.17', release: '1.el9' },
};
