/**
 * A real fake VDSM for engine-move's tests: the default fixture's pool and
 * domains, N hosts (host 1 the SPM), and extra small disks on the file domain,
 * each with a little data, so tests can run several moves at once. Clients
 * are real VdsmClients over TCP; `counted` wraps one so a test can assert how
 * many calls of a verb went over the wire.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmClient, compose } from '@vdsm-kit/client';
import type { RpcCaller } from '@vdsm-kit/client';
import { DEFAULT_IDS, defaultFixture, startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsm, FakeVdsmOptions } from '@vdsm-kit/fake-vdsm';
import { poolHost } from '../tasks/pool-host.js';
import type { PoolHost } from '../tasks/pool-host.js';

export const IDS = DEFAULT_IDS;

export interface SmallDisk {
  readonly image: string;
  readonly volume: string;
}

export interface FakePool {
  readonly fake: FakeVdsm;
  readonly disks: readonly SmallDisk[];
  /** A connected client per host, host 1 first. */
  readonly clients: readonly VdsmClient[];
  /** The hosts as the orchestrator sees them, each counting its calls by method. */
  readonly hosts: readonly PoolHost[];
  /** Calls per method, over every host. */
  readonly calls: Map<string, number>;
  close(): Promise<void>;
}

export interface FakePoolOptions extends Omit<FakeVdsmOptions, 'fixture' | 'stateDir'> {
  /** Extra small disks on the file domain (default 4). */
  readonly smallDisks?: number;
}

/** Counts every call by method on its way out: the wire's own tally, not a stand-in for it. */
function counted(caller: RpcCaller, calls: Map<string, number>): RpcCaller {
  return compose(caller, (next) => (method, params, options) => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
    return next(method, params, options);
  });
}

export async function startFakePool(options: FakePoolOptions = {}): Promise<FakePool> {
  const { smallDisks = 4, ...fakeOptions } = options;
  const fixture = defaultFixture();
  const disks: SmallDisk[] = Array.from({ length: smallDisks }, () => ({ image: randomUUID(), volume: randomUUID() }));
  fixture.disks = [
    ...(fixture.disks ?? []),
    ...disks.map((disk, index) => ({
      id: disk.image,
      domain: IDS.fileDomain,
      capacity: '8 MiB',
      volumes: [{ id: disk.volume, format: 'RAW' as const, allocation: 'SPARSE' as const, data: [{ offset: 0, pattern: index + 1, length: '64 KiB' }] }],
    })),
  ];
  const stateDir = await mkdtemp(join(tmpdir(), 'engine-move-fake-'));
  const fake = await startFakeVdsm({ ...fakeOptions, stateDir, fixture });
  const calls = new Map<string, number>();
  const clients = fake.hosts.map((address) => new VdsmClient({ transport: 'tcp', host: address.stomp.host, port: address.stomp.port, timeoutMs: 30_000 }));
  const hosts = clients.map((client, index) => {
    const address = fake.hosts[index]!;
    return poolHost(`host-${address.id}@${address.stomp.host}:${address.stomp.port}`, counted(client, calls));
  });
  return {
    fake,
    disks,
    clients,
    hosts,
    calls,
    close: async () => {
      await Promise.allSettled(clients.map((client) => client.close()));
      await fake.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
