import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEMA_METHODS, VdsmCapabilitiesSchema } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { silentLogger } from '../logger.js';
import { RpcDispatcher } from '../server/rpc-dispatcher.js';
import { HOST_ID_FILE, loadHostIdentity } from '../state.js';
import { hostApi, interfaceOf } from './host.js';
import { iscsiInitiatorName } from './host-capabilities.js';
import { ApiRegistry } from './registry.js';
import type { CallContext } from './registry.js';

/** The 61 top-level keys of VdsmCapabilities in vdsm-api.yml. */
const SCHEMA_CAPABILITY_KEYS = [
  'bondings', 'autoNumaBalancing', 'netConfigDirty', 'nics', 'emulatedMachines', 'cpuFlags', 'reservedMem', 'onlineCpus',
  'cpuTopology', 'cpuSpeed', 'software_version', 'vdsmToCpusAffinity', 'vmTypes', 'hostdevPassthrough', 'rngSources',
  'version_name', 'numaNodes', 'memSize', 'supportedENGINEs', 'cpuModel', 'selinux', 'networks', 'kvmEnabled', 'liveMerge',
  'ISCSIInitiatorName', 'cpuThreads', 'software_revision', 'liveSnapshot', 'bridges', 'guestOverhead', 'HBAInventory',
  'clusterLevels', 'cpuCores', 'cpuSockets', 'lastClientIface', 'uuid', 'operatingSystem', 'vlans', 'supportsIPv6',
  'nameservers', 'numaNodeDistance', 'kdumpStatus', 'packages2', 'hooks', 'additionalFeatures', 'kernelArgs',
  'realtimeKernel', 'nestedVirtualization', 'hostedEngineDeployed', 'hugepages', 'vncEncrypted', 'connector_info',
  'backupEnabled', 'domain_versions', 'supported_block_size', 'fipsEnabled', 'tscFrequency', 'tscScaling', 'boot_uuid',
  'ovnConfigured', 'zerocopy_migrations',
];

const identity = { uuid: '0f5b4f2e-3c38-4b8e-9c39-7d0c2b6a9e21' };
const loopback: CallContext = { flowId: undefined, connection: { transport: 'tcp', localAddress: '127.0.0.1' } };

async function call(method: string, params: object, context: CallContext = loopback): Promise<{ result?: unknown; error?: unknown }> {
  const dispatcher = new RpcDispatcher({
    registry: new ApiRegistry([hostApi({ identity })]),
    knownMethods: new Set(SCHEMA_METHODS),
    isReady: () => true,
    logger: silentLogger,
  });
  const answer = await dispatcher.prepare(JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 })).run(context);
  return JSON.parse(answer?.body as string);
}

describe('Host API', () => {
  it('Host.ping2 answers true', async () => {
    expect(await call('Host.ping2', {})).to.deep.include({ result: true });
  });

  it('Host.echo answers its message', async () => {
    expect(await call('Host.echo', { message: 'hello, VDSM' })).to.deep.include({ result: 'hello, VDSM' });
  });

  it('Host.echo without message is -32602', async () => {
    expect(((await call('Host.echo', {})).error as { code: number }).code).to.equal(-32602);
  });

  describe('Host.getCapabilities', () => {
    it('has every top-level key of the schema, and the two real VDSM adds', async () => {
      const caps = (await call('Host.getCapabilities', {})).result as Record<string, unknown>;
      expect(SCHEMA_CAPABILITY_KEYS).to.have.length(61);
      expect(Object.keys(caps)).to.include.members(SCHEMA_CAPABILITY_KEYS);
      expect(Object.keys(caps)).to.include.members(['deferred_preallocation', 'kernelFeatures']);
      expect(Object.keys(caps)).to.have.length(63);
    });

    it('matches the client\'s capabilities schema', async () => {
      const caps = (await call('Host.getCapabilities', {})).result;
      const parsed = VdsmCapabilitiesSchema.safeParse(caps);
      expect(parsed.success, parsed.error?.message).to.equal(true);
    });

    it('reports the host identity and VDSM\'s wire types', async () => {
      const caps = (await call('Host.getCapabilities', {})).result as Record<string, unknown>;
      expect(caps.uuid).to.equal(identity.uuid);
      expect(caps.ISCSIInitiatorName).to.equal(iscsiInitiatorName(identity)).and.match(/^iqn\.1994-05\.com\.redhat:[0-9a-f]{12}$/);
      expect(caps.HBAInventory).to.deep.equal({ iSCSI: [{ InitiatorName: caps.ISCSIInitiatorName }], FC: [] });
      // VDSM sends these as strings.
      for (const key of ['cpuCores', 'cpuThreads', 'cpuSockets', 'cpuSpeed', 'memSize', 'reservedMem', 'guestOverhead', 'kvmEnabled', 'netConfigDirty']) {
        expect(caps[key], key).to.be.a('string');
      }
      expect(caps.supported_block_size).to.deep.include({ NFS: [512], LOCALFS: [0, 512, 4096] });
      expect(caps.clusterLevels).to.include('4.7');
    });

    it('reports the interface the client came in on as lastClientIface', async () => {
      const caps = (await call('Host.getCapabilities', {})).result as Record<string, unknown>;
      expect(caps.lastClientIface).to.equal(interfaceOf('127.0.0.1'));
      expect(caps.lastClientIface).to.not.equal('');
      const unknown = (await call('Host.getCapabilities', {}, { flowId: undefined, connection: { transport: 'memory' } })).result as Record<string, unknown>;
      expect(unknown.lastClientIface).to.equal('');
    });
  });

  describe('interfaceOf', () => {
    it('finds the loopback interface, also for an IPv4-mapped IPv6 address', () => {
      const name = interfaceOf('127.0.0.1');
      expect(name).to.not.equal('');
      expect(interfaceOf('::ffff:127.0.0.1')).to.equal(name);
      expect(interfaceOf('203.0.113.77')).to.equal('');
    });
  });
});

describe('host identity', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-identity-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is made once and read back from vdsm.id', async () => {
    const first = await loadHostIdentity(dir);
    expect(first.uuid).to.match(/^[0-9a-f-]{36}$/);
    expect((await readFile(join(dir, HOST_ID_FILE), 'utf8')).trim()).to.equal(first.uuid);
    expect(await loadHostIdentity(dir)).to.deep.equal(first);
  });

  it('refuses a vdsm.id that holds no UUID', async () => {
    await writeFile(join(dir, HOST_ID_FILE), 'not-a-uuid\n');
    let failure: unknown;
    try {
      await loadHostIdentity(dir);
    } catch (error) {
      failure = error;
    }
    expect(String(failure)).to.match(/does not hold a host UUID/);
  });
});
