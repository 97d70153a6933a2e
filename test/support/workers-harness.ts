/**
 * What the several-instances suites share: `fake-vdsm serve` as a process
 * with two hosts and many small disks (half on the block domain, moved to the
 * file domain with wipe-after-delete, half the other way without), a store
 * for the workers, moves submitted through the library (one through the
 * `engine-move submit` CLI), and the checks every run ends with: each disk
 * moved and copied once, nothing LOCKED, no task left, one status poll per
 * interval.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmClient } from '@vdsm-kit/client';
import { MoveOrchestrator, openMoveStore, poolHost } from '@vdsm-kit/engine-move';
import type { MoveLeaseStore, MoveStore } from '@vdsm-kit/engine-move';
import { ControlClient, DEFAULT_IDS, defaultFixture } from '@vdsm-kit/fake-vdsm';
import type { CallView } from '@vdsm-kit/fake-vdsm';
import { expect } from 'chai';
import { runEngineMove } from './engine-move-process.js';
import { startFakeProcess } from './storage-process.js';
import type { FakeProcess } from './storage-process.js';
import type { TeardownHelper } from './teardown.js';

const { pool, fileDomain, blockDomain } = DEFAULT_IDS;

export interface WorkerDisk {
  readonly image: string;
  readonly volume: string;
  readonly from: string;
  readonly to: string;
  readonly wipe: boolean;
}

export interface Harness {
  readonly folder: string;
  readonly fake: FakeProcess;
  readonly control: ControlClient;
  readonly disks: readonly WorkerDisk[];
  /** `--hosts` for the CLI. */
  readonly hostsArg: string;
  /** The store every process shares (`--db`). */
  readonly db: string;
  /** The store, opened once for the test process. */
  openStore(): Promise<MoveStore & MoveLeaseStore>;
}

/** Disks and a fake for them; `db` names the store (a postgres:// URL, or an SQLite file when not given). */
export async function startHarness(td: TeardownHelper, options: { disks: number; db?: string; timeScale?: number; wipeRateMiBps?: number }): Promise<Harness> {
  const folder = await mkdtemp(join(tmpdir(), 'engine-move-workers-'));
  td.add(() => rm(folder, { recursive: true, force: true }));
  const disks: WorkerDisk[] = Array.from({ length: options.disks }, (_, index) => {
    const onBlock = index % 2 === 0;
    return { image: randomUUID(), volume: randomUUID(), from: onBlock ? blockDomain : fileDomain, to: onBlock ? fileDomain : blockDomain, wipe: onBlock };
  });
  const fixture = defaultFixture();
  fixture.disks = [
    ...(fixture.disks ?? []),
    ...disks.map((disk, index) => ({
      id: disk.image,
      domain: disk.from,
      // A whole extent: a block domain's LV is never smaller, and the copy's target is the disk's capacity.
      capacity: disk.from === blockDomain ? '128 MiB' : '8 MiB',
      volumes: [
        {
          id: disk.volume,
          format: 'RAW' as const,
          allocation: disk.from === blockDomain ? ('PREALLOCATED' as const) : ('SPARSE' as const),
          data: [{ offset: 0, pattern: (index % 250) + 1, length: '64 KiB' }],
        },
      ],
    })),
  ];
  const fixtureFile = join(folder, 'fixture.json');
  await writeFile(fixtureFile, JSON.stringify(fixture));
  const fake = await startFakeProcess(td, {
    state: join(folder, 'fake'),
    fixtureFile,
    hosts: 2,
    timeScale: options.timeScale ?? 0.05,
    ...(options.wipeRateMiBps === undefined ? {} : { wipeRateMiBps: options.wipeRateMiBps }),
    callLog: 200_000,
    logLevel: 'warn',
  });
  const control = new ControlClient(fake.ready.control);
  const db = options.db ?? join(folder, 'moves.sqlite');
  let opened: Promise<MoveStore & MoveLeaseStore> | undefined;
  return {
    folder,
    fake,
    control,
    disks,
    hostsArg: fake.ready.hosts.map((h) => `${h.stomp.host}:${h.stomp.port}`).join(','),
    db,
    openStore: () => (opened ??= openStore(td, db)),
  };
}

export async function openStore(td: TeardownHelper, db: string): Promise<MoveStore & MoveLeaseStore> {
  return td.track(await openMoveStore(db), (s) => s.close());
}

/** Submits a move per disk: the first through `engine-move submit` (prints the id at once), the rest through the library. */
export async function submitAll(td: TeardownHelper, harness: Harness): Promise<string[]> {
  const [first, ...rest] = harness.disks;
  const cli = await runEngineMove(td, [
    'submit',
    '--db',
    harness.db,
    '--hosts',
    harness.hostsArg,
    '--insecure',
    '--pool',
    pool,
    '--disk',
    first!.image,
    '--from',
    first!.from,
    '--to',
    first!.to,
    ...(first!.wipe ? ['--wipe'] : []),
    '--path',
    'spm',
  ]);
  expect(cli.code, cli.stderr).to.equal(0);
  const firstId = cli.stdout.trim();
  expect(firstId).to.match(/^[0-9a-f-]{36}$/);
  const store = await harness.openStore();
  const clients = harness.fake.ready.hosts.map((h) => td.track(new VdsmClient({ transport: 'tcp', host: h.stomp.host, port: h.stomp.port }), (c) => c.close()));
  const orchestrator = new MoveOrchestrator({ copyPath: 'spm', store, hosts: clients.map((c, i) => poolHost(`host-${i + 1}`, c)) });
  try {
    const ids = [firstId];
    for (const disk of rest) {
      const move = await orchestrator.submit({ poolId: pool, diskId: disk.image, srcDomainId: disk.from, dstDomainId: disk.to, wipeAfterDelete: disk.wipe });
      ids.push(move.moveId);
    }
    return ids;
  } finally {
    orchestrator.close();
  }
}

/** Every call of `method` the fake answered after `since`, in order. */
export async function callsOf(control: ControlClient, method: string, since = 0): Promise<CallView[]> {
  const page = await control.listCalls({ method, since });
  expect(page.dropped, 'the call log dropped calls').to.equal(0);
  return [...page.calls];
}

/** Waits until `check` is true, looking again whenever the store may have changed (a short pause between looks). */
export async function until(check: () => Promise<boolean>, pauseMs = 100): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, pauseMs));
}

/**
 * The end of every run: each disk moved (on its target, OK, the source gone),
 * copied once and deleted once (the fake's call log), every task cleared in
 * the store and none left on the SPM, the fake's invariants hold.
 */
export async function expectAllMoved(td: TeardownHelper, harness: Harness, moveIds: readonly string[]): Promise<void> {
  const store = await harness.openStore();
  // A move is done before its last Task.clear (the end logic commits first); wait for the clears.
  await until(async () => {
    for (const moveId of moveIds) if ((await store.listTasks({ moveId })).some((t) => t.state !== 'cleared')) return false;
    return true;
  });
  for (const moveId of moveIds) {
    const move = await store.getMove(moveId);
    expect(move, moveId).to.not.equal(undefined);
    expect({ moveId, state: move!.state, result: move!.result }).to.deep.equal({ moveId, state: 'done', result: 'moved' });
    expect((await store.listTasks({ moveId })).map((t) => t.state).every((s) => s === 'cleared'), `tasks of ${moveId}`).to.equal(true);
    expect(await store.listLeftovers({ moveId })).to.deep.equal([]);
  }
  const moves = await callsOf(harness.control, 'Image.move');
  const deletes = await callsOf(harness.control, 'Image.delete');
  for (const disk of harness.disks) {
    const stored = await store.getDisk(disk.image);
    expect(stored!.volumes.map((v) => [v.domainId, v.status]), disk.image).to.deep.equal([[disk.to, 'OK']]);
    expect(moves.filter((c) => (c.params as { imageID?: string }).imageID === disk.image), `Image.move of ${disk.image}`).to.have.length(1);
    expect(deletes.filter((c) => (c.params as { imageID?: string }).imageID === disk.image), `Image.delete of ${disk.image}`).to.have.length(1);
  }
  const spmAddress = harness.fake.ready.hosts[0]!.stomp;
  const spm = td.track(new VdsmClient({ transport: 'tcp', host: spmAddress.host, port: spmAddress.port }), (c) => c.close());
  expect(await spm.Host.getAllTasksStatuses()).to.deep.equal({});
  const report = await harness.control.invariants();
  expect(report.violations, JSON.stringify(report.violations)).to.deep.equal([]);
}

/**
 * One status poll per interval across every worker: no stretch of
 * WINDOW_INTERVALS intervals holds more than WINDOW_INTERVALS + 2
 * `Host.getAllTasksStatuses` calls (from any connection). One poller's timer
 * keeps its polls an interval apart; the fake logs a call when it reads it,
 * so on a loaded machine one poll read late can land close to the next (the
 * + 2), but never make a stretch of them dense. Two pollers at once, each on
 * its own timer, put about twice as many in every stretch.
 */
const WINDOW_INTERVALS = 5;

export async function expectOnePollPerInterval(harness: Harness, intervalMs: number, untilSeq = Infinity): Promise<{ polls: number; pollers: number }> {
  const polls = (await callsOf(harness.control, 'Host.getAllTasksStatuses')).filter((c) => c.seq <= untilSeq);
  expect(polls.length).to.be.greaterThan(0);
  const times = polls.map((c) => Date.parse(c.time));
  const dense: string[] = [];
  for (let i = 0, j = 0; i < polls.length; i += 1) {
    while (j < polls.length && times[j]! - times[i]! < WINDOW_INTERVALS * intervalMs) j += 1;
    if (j - i > WINDOW_INTERVALS + 2) {
      dense.push(`${j - i} polls from #${polls[i]!.seq} to #${polls[j - 1]!.seq} (connections ${[...new Set(polls.slice(i, j).map((c) => c.connection))].join(', ')}) within ${WINDOW_INTERVALS} intervals`);
    }
  }
  expect(dense.slice(0, 5), 'status polls denser than one per interval').to.deep.equal([]);
  return { polls: polls.length, pollers: new Set(polls.map((c) => c.connection)).size };
}
