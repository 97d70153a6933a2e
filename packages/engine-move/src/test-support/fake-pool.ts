/**
 * A real fake VDSM for engine-move's tests: the default fixture's pool and
 * domains, N hosts (host 1 the SPM), and extra small disks on the file domain,
 * each with a little data, so tests can run several moves at once; on
 * request, disks with a snapshot chain (several volumes). Clients are real VdsmClients over TCP; `counted` wraps one
 * so a test can assert how many calls of a verb went over the wire.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmClient, compose } from '@vdsm-kit/client';
import type { RpcCaller, VdsmClientOptions } from '@vdsm-kit/client';
import { DEFAULT_IDS, defaultFixture, startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsm, FakeVdsmOptions } from '@vdsm-kit/fake-vdsm';
import { poolHost } from '../tasks/pool-host.js';
import type { PoolHost } from '../tasks/pool-host.js';

export const IDS = DEFAULT_IDS;

export interface SmallDisk {
  readonly image: string;
  /** The leaf volume (the only one of a one-volume disk). */
  readonly volume: string;
  /** Every volume, base first. */
  readonly volumes: readonly string[];
}

export interface FakePool {
  readonly fake: FakeVdsm;
  readonly disks: readonly SmallDisk[];
  /** Disks with a snapshot chain on the file domain (`chainDisks`). */
  readonly chainDisks: readonly SmallDisk[];
  /** A connected client per host, host 1 first. */
  readonly clients: readonly VdsmClient[];
  /** The hosts as the orchestrator sees them, each counting its calls by method. */
  readonly hosts: readonly PoolHost[];
  /** Calls per method, over every host. */
  readonly calls: Map<string, number>;
  /** Calls per method, by host name (PoolHost.name), host 1 (the SPM) first. */
  readonly callsByHost: Map<string, Map<string, number>>;
  close(): Promise<void>;
}

export interface FakePoolOptions extends Omit<FakeVdsmOptions, 'fixture' | 'stateDir'> {
  /** Extra small disks on the file domain (default 4). */
  readonly smallDisks?: number;
  /** Disks on the file domain with a chain of `chainLength` volumes, RAW base then COW layers (default 0). */
  readonly chainDisks?: number;
  /** Volumes of each chain disk (default 3). */
  readonly chainLength?: number;
  /** Format versions of the fixture's domains by id (default: the fake's, V5), e.g. an old V1 target. */
  readonly domainVersions?: Readonly<Record<string, number>>;
  /** Options of every host's client (heart-beat, timeouts, reconnect ...); the address is the fake's. */
  readonly clientOptions?: Omit<VdsmClientOptions, 'transport' | 'host' | 'port'>;
}

/** Counts every call by method on its way out: the wire's own tally, not a stand-in for it. */
function counted(caller: RpcCaller, ...tallies: Map<string, number>[]): RpcCaller {
  return compose(caller, (next) => (method, params, options) => {
    for (const calls of tallies) calls.set(method, (calls.get(method) ?? 0) + 1);
    return next(method, params, options);
  });
}

export async function startFakePool(options: FakePoolOptions = {}): Promise<FakePool> {
  const { smallDisks = 4, chainDisks: chains = 0, chainLength = 3, clientOptions = {}, domainVersions = {}, ...fakeOptions } = options;
  const fixture = defaultFixture();
  fixture.domains = fixture.domains?.map((domain) => (domainVersions[domain.id] === undefined ? domain : { ...domain, version: domainVersions[domain.id] }));
  const newDisk = (length: number): SmallDisk => {
    const volumes = Array.from({ length }, () => randomUUID());
    return { image: randomUUID(), volume: volumes[length - 1]!, volumes };
  };
  const disks = Array.from({ length: smallDisks }, () => newDisk(1));
  const chainDisks = Array.from({ length: chains }, () => newDisk(chainLength));
  fixture.disks = [
    ...(fixture.disks ?? []),
    ...disks.map((disk, index) => ({
      id: disk.image,
      domain: IDS.fileDomain,
      capacity: '8 MiB',
      volumes: [{ id: disk.volume, format: 'RAW' as const, allocation: 'SPARSE' as const, data: [{ offset: 0, pattern: (index % 255) + 1, length: '64 KiB' }] }],
    })),
    // Each layer writes its own 64 KiB further in, so every volume of the chain holds data of its own.
    ...chainDisks.map((disk, index) => ({
      id: disk.image,
      domain: IDS.fileDomain,
      capacity: '8 MiB',
      volumes: disk.volumes.map((id, layer) => ({
        id,
        format: layer === 0 ? ('RAW' as const) : ('COW' as const),
        allocation: 'SPARSE' as const,
        data: [{ offset: layer * 65_536, pattern: 0x40 + index * 8 + layer, length: '64 KiB' }],
      })),
    })),
  ];
  const stateDir = await mkdtemp(join(tmpdir(), 'engine-move-fake-'));
  const fake = await startFakeVdsm({ ...fakeOptions, stateDir, fixture });
  const calls = new Map<string, number>();
  const callsByHost = new Map<string, Map<string, number>>();
  const clients = fake.hosts.map((address) => new VdsmClient({ timeoutMs: 30_000, ...clientOptions, transport: 'tcp', host: address.stomp.host, port: address.stomp.port }));
  const hosts = clients.map((client, index) => {
    const address = fake.hosts[index]!;
    const name = `host-${address.id}@${address.stomp.host}:${address.stomp.port}`;
    const own = new Map<string, number>();
    callsByHost.set(name, own);
    // The client also delivers the host's events (SDM job ends).
    return poolHost(name, counted(client, calls, own), client);
  });
  return {
    fake,
    disks,
    chainDisks,
    clients,
    hosts,
    calls,
    callsByHost,
    close: async () => {
      await Promise.allSettled(clients.map((client) => client.close()));
      await fake.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
