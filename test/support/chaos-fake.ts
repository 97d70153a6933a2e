/**
 * The fake VDSM a chaos case runs against, in one of two forms behind one
 * interface: in this process (`startFakeVdsm`, crashed with its own
 * `crash()`), or as a `fake-vdsm serve` child process that a crash SIGKILLs
 * and a supervisor starts again on the same state folder and the same ports
 * (so clients find it where it was). Either way the fixture is the default
 * pool and domains, two hosts, and one small disk with data on the move's
 * source domain; the fake's clock runs at TIME_SCALE.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ControlClient, DEFAULT_IDS, defaultFixture, startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsm, FixtureInput, HostAddress } from '@vdsm-kit/fake-vdsm';
import type { ControlApi } from '@vdsm-kit/fake-vdsm';
import { TIME_SCALE } from './chaos-case.js';
import { startFakeProcess } from './storage-process.js';
import type { FakeProcess } from './storage-process.js';
import type { TeardownHelper } from './teardown.js';

/** The disk every case moves. */
export interface ChaosDisk {
  readonly image: string;
  readonly volume: string;
}

export interface ChaosFake {
  /** The control API (in-process object or HTTP client); valid across restarts. */
  readonly control: ControlApi;
  /** Every host's address; the same after a restart. */
  readonly hosts: readonly HostAddress[];
  readonly disk: ChaosDisk;
  /** Calls the fake answered since it started, over all its lives. */
  callsAnswered(): Promise<number>;
  /** True while it is down (crashed by us or by a `crash` fault). */
  isDown(): boolean;
  /** Crashes it (SIGKILL for a process); `restart()` brings it back. */
  crash(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A fixture with one disk of 8 MiB on `domain`, data at its start and at its end. */
function chaosFixture(domain: string, disk: ChaosDisk): FixtureInput {
  const fixture = defaultFixture();
  fixture.hosts = [
    { id: 1, uuid: DEFAULT_IDS.host, name: 'host-1' },
    { id: 2, uuid: randomUUID(), name: 'host-2' },
  ];
  fixture.disks = [
    {
      id: disk.image,
      domain,
      capacity: '8 MiB',
      volumes: [
        {
          id: disk.volume,
          format: 'RAW',
          allocation: domain === DEFAULT_IDS.blockDomain ? 'PREALLOCATED' : 'SPARSE',
          data: [
            { offset: 0, pattern: 0x5a, length: '256 KiB' },
            { offset: 8 * 1024 * 1024 - 65_536, hex: 'c0ffee', length: '64 KiB' },
          ],
        },
      ],
    },
  ];
  return fixture;
}

/** A fake in this process. */
export async function startInProcessFake(td: TeardownHelper, folder: string, srcDomain: string, seed: number): Promise<ChaosFake> {
  const disk = { image: randomUUID(), volume: randomUUID() };
  const fake: FakeVdsm = await startFakeVdsm({ stateDir: join(folder, 'fake'), fixture: chaosFixture(srcDomain, disk), timeScale: TIME_SCALE, seed });
  td.add(() => fake.close());
  const isDown = (): boolean => {
    try {
      void fake.storage;
      return false;
    } catch {
      return true;
    }
  };
  return {
    control: fake,
    hosts: fake.hosts,
    disk,
    callsAnswered: async () => (await fake.listCalls({ since: Number.MAX_SAFE_INTEGER })).next,
    isDown,
    crash: () => fake.crash(),
    restart: () => fake.restart(),
    close: () => fake.close(),
  };
}

/** Two consecutive free ports on 127.0.0.1 (the hosts' `--port P` takes P and P+1), and one for the control API. */
async function freePorts(): Promise<{ port: number; controlPort: number }> {
  const take = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
  for (;;) {
    const port = await take(0);
    if (port + 1 > 65_535) continue;
    try {
      await take(port + 1);
    } catch {
      continue;
    }
    return { port, controlPort: await take(0) };
  }
}

/** `fake-vdsm serve` as a child process, restarted on the same state and ports after each crash. */
export async function startProcessFake(td: TeardownHelper, folder: string, srcDomain: string, seed: number): Promise<ChaosFake> {
  const disk = { image: randomUUID(), volume: randomUUID() };
  const fixtureFile = join(folder, 'fixture.json');
  await writeFile(fixtureFile, JSON.stringify(chaosFixture(srcDomain, disk)));
  const { port, controlPort } = await freePorts();
  const options = { state: join(folder, 'fake'), fixtureFile, timeScale: TIME_SCALE, port, controlPort, seed, logLevel: 'warn' } as const;
  let child: FakeProcess = await startFakeProcess(td, options);
  const hosts = child.ready.hosts;
  const control = new ControlClient(child.ready.control);
  // The call log dies with the process: calls of the lives before this one, and the last count read of this one.
  let earlier = 0;
  let seen = 0;
  let down = false;
  const endLife = (): void => {
    earlier += seen;
    seen = 0;
  };
  return {
    control,
    hosts,
    disk,
    callsAnswered: async () => {
      if (!down && !child.exited()) seen = await control.listCalls({ since: Number.MAX_SAFE_INTEGER }).then((page) => page.next, () => seen);
      return earlier + seen;
    },
    // A `crash` fault SIGKILLs the process itself.
    isDown: () => down || child.exited(),
    crash: async () => {
      down = true;
      await child.stop('SIGKILL');
    },
    restart: async () => {
      await child.stop('SIGKILL');
      endLife();
      child = await startFakeProcess(td, options);
      down = false;
    },
    close: () => child.stop('SIGTERM').then(() => undefined),
  };
}
