/**
 * What bench/move.ts and its orchestrator child (bench/move-swarm.ts) share:
 * fake-vdsm started as a child process from a fixture file (so the fake gets
 * a core of its own and none of its memory counts as the orchestrator's),
 * and the pool's hosts as the orchestrator sees them, each call counted on
 * its way out by a `compose` interceptor (the wire's own tally).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VdsmClient, compose } from '@vdsm-kit/client';
import type { RpcCaller } from '@vdsm-kit/client';
import { poolHost } from '@vdsm-kit/engine-move';
import type { PoolHost } from '@vdsm-kit/engine-move';
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import type { FixtureInput } from '@vdsm-kit/fake-vdsm';
import { spawnReady } from './child-process.js';
import type { ReadyChild } from './child-process.js';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The ready line of `fake-vdsm serve` (the part used here). */
export interface FakeReady {
  /** The control API (`GET /calls` ...). */
  readonly control: string;
  readonly hosts: readonly { readonly id: number; readonly stomp: { readonly host: string; readonly port: number } }[];
}

export interface FakeChildOptions {
  readonly fixture: FixtureInput;
  /** Folder for the fixture file (the fake's state is a temporary folder it removes itself). */
  readonly dir: string;
  /** Storage time factor (`--time-scale`). */
  readonly timeScale?: number;
  /** postZero pace on block domains, MiB/s of storage time (`--wipe-rate`). */
  readonly wipeRateMiBps?: number;
  /** Calls `GET /calls` keeps (`--call-log`). */
  readonly callLog?: number;
  /** Hosts the fake serves (`--hosts`; host 1 the SPM). */
  readonly hosts?: number;
}

/** `fake-vdsm serve` on free ports, seeded from `fixture`. */
export async function startFakeChild(options: FakeChildOptions): Promise<ReadyChild<FakeReady>> {
  const fixturePath = join(options.dir, `fixture-${process.pid}-${Date.now()}.json`);
  await writeFile(fixturePath, JSON.stringify(options.fixture));
  const args = ['packages/fake-vdsm/dist/cli.js', 'serve', '--port', '0', '--log-level', 'error', '--fixture', fixturePath];
  if (options.timeScale !== undefined) args.push('--time-scale', String(options.timeScale));
  if (options.wipeRateMiBps !== undefined) args.push('--wipe-rate', String(options.wipeRateMiBps));
  if (options.callLog !== undefined) args.push('--call-log', String(options.callLog));
  if (options.hosts !== undefined) args.push('--hosts', String(options.hosts));
  return spawnReady<FakeReady>(args, { cwd: ROOT });
}

/** Every call's method and the time it went out (performance.now()), over every host. */
export type CallLog = { readonly method: string; readonly at: number }[];

export interface CountedHosts {
  readonly hosts: readonly PoolHost[];
  readonly calls: CallLog;
  close(): Promise<void>;
}

/** A connected VdsmClient per host of the fake, each call logged by the interceptor. */
export function countedHosts(ready: FakeReady, timeoutMs = 60_000): CountedHosts {
  const calls: CallLog = [];
  const clients = ready.hosts.map((h) => new VdsmClient({ transport: 'tcp', host: h.stomp.host, port: h.stomp.port, timeoutMs }));
  const counted = (caller: RpcCaller): RpcCaller =>
    compose(caller, (next) => (method, params, callOptions) => {
      calls.push({ method, at: performance.now() });
      return next(method, params, callOptions);
    });
  // Each client delivers its host's events too (an SDM job's end), as the CLI's hosts do.
  const hosts = clients.map((client, index) => poolHost(`host-${ready.hosts[index]!.id}`, counted(client), client));
  return {
    hosts,
    calls,
    close: async () => {
      await Promise.allSettled(clients.map((client) => client.close()));
    },
  };
}

/** Small disks (8 MiB, 64 KiB of data, a different byte each) on the default fixture's file domain. */
export function smallFileDisks(disks: readonly { readonly image: string; readonly volume: string }[]): NonNullable<FixtureInput['disks']> {
  return disks.map((disk, index) => ({
    id: disk.image,
    domain: DEFAULT_IDS.fileDomain,
    capacity: '8 MiB',
    volumes: [{ id: disk.volume, format: 'RAW' as const, allocation: 'SPARSE' as const, data: [{ offset: 0, pattern: (index % 255) + 1, length: '64 KiB' }] }],
  }));
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
