/**
 * Load for the fake: many real VdsmClients over real sockets, each making
 * its share of calls with a few in flight, while disks are moved back and
 * forth between two domains (Image.move, the SPM's task watched to its end).
 * Used by test/load.test.ts (pass/fail) and bench/load.ts (the figures).
 */
import { randomUUID } from 'node:crypto';
import { TaskWatcher, VdsmClient, deleteImage, moveImage } from '@vdsm-kit/client';
import { DEFAULT_IDS, defaultFixture } from '@vdsm-kit/fake-vdsm';
import type { FixtureInput } from '@vdsm-kit/fake-vdsm';

export interface LoadTarget {
  readonly host: string;
  readonly port: number;
}

export interface CallLoadOptions {
  readonly connections: number;
  readonly callsPerConnection: number;
  /** Calls each connection keeps in flight (default 4). */
  readonly inFlight?: number;
  /** Called once every connection is open and half the calls are answered (a memory sample, for instance). */
  readonly atHalfway?: () => Promise<void>;
}

export interface CallLoadResult {
  readonly answered: number;
  readonly failed: number;
  /** The first failures' messages (at most 10). */
  readonly failures: readonly string[];
  readonly durationMs: number;
  /** Round-trip times of every answered call, sorted (ms). */
  readonly latenciesMs: readonly number[];
}

/** What each call is, in turn: the calls an engine makes most, reads of the host and the storage. */
const CALLS: readonly ((client: VdsmClient) => Promise<unknown>)[] = [
  (client) => client.Host.ping2(),
  (client) => client.Host.getAllTasksStatuses(),
  (client) => client.Host.ping2(),
  (client) => client.StorageDomain.getImages({ storagedomainID: DEFAULT_IDS.fileDomain }),
];

/** Opens `connections` clients, makes every call, closes them; never throws for a failed call (they are counted). */
export async function runCallLoad(target: LoadTarget, options: CallLoadOptions): Promise<CallLoadResult> {
  const inFlight = options.inFlight ?? 4;
  // A generous timeout: a call is to be answered, however busy the machine.
  const clients = Array.from({ length: options.connections }, () => new VdsmClient({ transport: 'tcp', ...target, timeoutMs: 120_000 }));
  const latencies: number[] = [];
  const failures: string[] = [];
  let failed = 0;
  const total = options.connections * options.callsPerConnection;
  let halfway: Promise<void> | undefined;
  const started = performance.now();
  try {
    await Promise.all(clients.map((client) => client.connect()));
    const one = async (client: VdsmClient, index: number): Promise<void> => {
      const at = performance.now();
      try {
        await CALLS[index % CALLS.length]!(client);
        latencies.push(performance.now() - at);
      } catch (error) {
        failed++;
        if (failures.length < 10) failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      if (latencies.length + failed === Math.floor(total / 2)) halfway = options.atHalfway?.();
    };
    await Promise.all(
      clients.map(async (client) => {
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < options.callsPerConnection) await one(client, next++);
        };
        await Promise.all(Array.from({ length: inFlight }, lane));
      }),
    );
    await halfway;
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
  }
  latencies.sort((a, b) => a - b);
  return { answered: latencies.length, failed, failures, durationMs: performance.now() - started, latenciesMs: latencies };
}

/** The default fixture plus `count` small disks with data on the file domain, to move while the load runs. */
export function loadFixture(count: number): { fixture: FixtureInput; disks: readonly { image: string; volume: string }[] } {
  const fixture = defaultFixture();
  const disks = Array.from({ length: count }, () => ({ image: randomUUID(), volume: randomUUID() }));
  fixture.disks = [
    ...(fixture.disks ?? []),
    ...disks.map((disk, index) => ({
      id: disk.image,
      domain: DEFAULT_IDS.fileDomain,
      capacity: '16 MiB',
      volumes: [{ id: disk.volume, format: 'RAW' as const, allocation: 'SPARSE' as const, data: [{ offset: 0, pattern: index + 1, length: '1 MiB' }] }],
    })),
  ];
  return { fixture, disks };
}

export interface MovesResult {
  /** Copies that ended in success. */
  readonly moved: number;
  /** Messages of moves that did not. */
  readonly failures: readonly string[];
}

/**
 * Keeps disk copies running until `done` resolves: each disk is copied to
 * the block domain (Image.move, operation copy) and that copy deleted again
 * (Image.delete), over and over, on the SPM at `target`; the disk under way
 * then finishes its round first. (Not moved back: a RAW volume moved from
 * block to file fails in the fake with qemu-img's "output file is smaller
 * than input file", its LV being larger than the volume.)
 */
export async function moveWhile(target: LoadTarget, disks: readonly { image: string }[], done: Promise<unknown>): Promise<MovesResult> {
  const client = new VdsmClient({ transport: 'tcp', ...target, timeoutMs: 120_000 });
  const watcher = new TaskWatcher({ caller: client, intervalMs: 50, callTimeoutMs: 120_000 });
  let stop = false;
  void done.finally(() => (stop = true));
  let moved = 0;
  const failures: string[] = [];
  const task = async (what: string, started: Promise<string>): Promise<boolean> => {
    const outcome = await watcher.wait(await started, { clear: true, timeoutMs: 600_000 });
    if (outcome.kind === 'success') return true;
    failures.push(`${what}: ${outcome.kind === 'failure' ? `${outcome.code} ${outcome.message}` : `unknown after ${outcome.misses} polls`}`);
    return false;
  };
  try {
    await Promise.all(
      disks.map(async (disk) => {
        const pool = { imageID: disk.image, storagepoolID: DEFAULT_IDS.pool };
        try {
          // At least one round each, however quick the load.
          do {
            if (!(await task(`copy ${disk.image}`, moveImage(client, { ...pool, srcDomainID: DEFAULT_IDS.fileDomain, dstDomainID: DEFAULT_IDS.blockDomain, operation: 'copy' })))) return;
            moved++;
            if (!(await task(`delete ${disk.image}`, deleteImage(client, { ...pool, storagedomainID: DEFAULT_IDS.blockDomain })))) return;
          } while (!stop);
        } catch (error) {
          failures.push(`${disk.image}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
  } finally {
    watcher.close();
    await client.close();
  }
  return { moved, failures };
}

/** The value at quantile `q` (0..1) of sorted `values`. */
export function quantile(values: readonly number[], q: number): number {
  return values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? Number.NaN;
}
