/**
 * The demo itself: a fake VDSM in this process (a temporary state folder, two
 * hosts, the default fixture's NFS and iSCSI domains, two RAW disks holding
 * data on the iSCSI one), and both disks moved to the NFS domain at the same
 * time with wipe-after-delete by one engine-move orchestrator over real
 * sockets: one the new way (copy, then delete), one with the legacy single
 * Image.move. The wipe (postZero) only happens on a block domain, so the
 * disks leave the block domain. Then the fake's checksum of each disk on the
 * target against its checksum on the source, and the timeline.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmClient } from '@vdsm-kit/client';
import { MoveOrchestrator, SqliteMoveStore, poolHost } from '@vdsm-kit/engine-move';
import type { MoveHandle, MoveOutcome } from '@vdsm-kit/engine-move';
import { PlainView, TerminalView } from '@vdsm-kit/engine-move/move-view';
import type { MoveView } from '@vdsm-kit/engine-move/move-view';
import { DEFAULT_IDS, defaultFixture, startFakeVdsm } from '@vdsm-kit/fake-vdsm';
import type { FakeVdsm, FixtureInput } from '@vdsm-kit/fake-vdsm';
import { roundUpToExtents } from '@vdsm-kit/fake-vdsm/data';
import type { DemoOptions } from './options.js';
import { describeTimeline, flowTimeline } from './timeline.js';
import type { FlowTimeline } from './timeline.js';
import { timelineSvg } from './timeline-svg.js';

/** The two disks: the new flow's and the legacy verb's. */
export const DEMO_DISKS = {
  current: { image: 'd1d1d1d1-0000-4000-8000-000000000001', volume: 'd1d1d1d1-0000-4000-8000-0000000000a1', pattern: 0x5a },
  legacy: { image: 'd2d2d2d2-0000-4000-8000-000000000002', volume: 'd2d2d2d2-0000-4000-8000-0000000000a2', pattern: 0xa5 },
} as const;

type Flow = keyof typeof DEMO_DISKS;

/** The engine's status poll interval (AsyncTaskPollingRate) and the orchestrator's first early poll, in production. */
const PRODUCTION_POLL_INTERVAL_MS = 10_000;
const PRODUCTION_FIRST_EARLY_POLL_MS = 250;
/** Pieces the data is spread over, each 4 KiB aligned. */
const DATA_PIECES = 16;

/** What came out of one run. */
export interface DemoResult {
  readonly outcomes: Readonly<Record<Flow, MoveOutcome>>;
  /** The fake's checksum of each disk on the source before and on the target after. */
  readonly checksums: Readonly<Record<Flow, { readonly source: string; readonly target: string }>>;
  readonly timelines: Readonly<Record<Flow, FlowTimeline>>;
  readonly svgPath: string;
  /** The kept state folder (`keepState`), else undefined: it is gone. */
  readonly keptState: string | undefined;
}

/** Where the demo writes its progress and report. */
export interface DemoIo {
  readonly stdout: NodeJS.WritableStream;
  /** Progress bars when it is a terminal, one line per event otherwise. */
  readonly stderr: NodeJS.WriteStream | NodeJS.WritableStream;
}

/** Runs the demo (see the module comment); everything it started is stopped and, unless kept, removed. */
export async function runDemo(options: DemoOptions, io: DemoIo = { stdout: process.stdout, stderr: process.stderr }): Promise<DemoResult> {
  const work = await mkdtemp(join(tmpdir(), 'vdsm-kit-demo-'));
  const stateDir = join(work, 'fake-vdsm-state');
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const fake = await startFakeVdsm({
      stateDir,
      fixture: demoFixture(options),
      hosts: 2,
      timeScale: options.timeScale,
      wipeBytesPerSecond: options.wipeBytesPerSecond,
    });
    cleanups.push(() => fake.close());
    const clients = fake.hosts.map((host) => new VdsmClient({ transport: 'tcp', host: host.stomp.host, port: host.stomp.port }));
    cleanups.push(() => Promise.all(clients.map((client) => client.close())).then(() => undefined));
    const store = SqliteMoveStore.open({ path: join(work, 'moves.sqlite') });
    cleanups.push(() => store.close());
    const orchestrator = new MoveOrchestrator({
      store,
      hosts: clients.map((client, index) => poolHost(`${fake.hosts[index]!.stomp.host}:${fake.hosts[index]!.stomp.port}`, client)),
      // The production intervals, on the fake's time scale, as the wipe is.
      pollIntervalMs: Math.max(20, PRODUCTION_POLL_INTERVAL_MS * options.timeScale),
      tracker: { firstEarlyPollMs: Math.max(5, PRODUCTION_FIRST_EARLY_POLL_MS * options.timeScale) },
    });
    cleanups.push(() => orchestrator.close());

    const sources = {
      current: await checksumOn(fake, DEFAULT_IDS.blockDomain, 'current'),
      legacy: await checksumOn(fake, DEFAULT_IDS.blockDomain, 'legacy'),
    };
    io.stdout.write(describeSetup(options, fake));

    const view = viewFor(io.stderr);
    const startedAt = Date.now();
    const move = (flow: Flow): Promise<MoveHandle> =>
      orchestrator.moveDisk({
        poolId: DEFAULT_IDS.pool,
        diskId: DEMO_DISKS[flow].image,
        srcDomainId: DEFAULT_IDS.blockDomain,
        dstDomainId: DEFAULT_IDS.fileDomain,
        wipeAfterDelete: true,
        legacy: flow === 'legacy',
      });
    const handles = await Promise.all([move('current'), move('legacy')]);
    for (const handle of handles) view.attach(handle);
    let outcomes: [MoveOutcome, MoveOutcome];
    try {
      outcomes = await Promise.all(handles.map((handle) => handle.outcome)) as [MoveOutcome, MoveOutcome];
    } finally {
      view.close();
    }
    const [current, legacy] = outcomes;
    for (const outcome of outcomes) {
      if (outcome.result !== 'moved') {
        throw new DemoFailure(`the ${outcome.mode} move ended ${outcome.result}${outcome.error ? `: ${outcome.error.code} ${outcome.error.message}` : ''}`);
      }
    }

    const checksums = {
      current: { source: sources.current, target: await checksumOn(fake, DEFAULT_IDS.fileDomain, 'current') },
      legacy: { source: sources.legacy, target: await checksumOn(fake, DEFAULT_IDS.fileDomain, 'legacy') },
    };
    const timelines = { current: flowTimeline(current, startedAt), legacy: flowTimeline(legacy, startedAt) };
    const caption = `Moving a ${formatBytes(options.diskBytes)} disk with wipe-after-delete (iSCSI to NFS)`;
    await writeFile(options.svgPath, timelineSvg([timelines.current, timelines.legacy], caption));

    io.stdout.write('\n');
    io.stdout.write(describeTimeline(timelines, options.timeScale));
    for (const flow of ['current', 'legacy'] as const) {
      const { source, target } = checksums[flow];
      io.stdout.write(`checksum of the ${flow === 'current' ? 'new flow' : 'legacy'} disk on the target: ${target === source ? 'equal to the source' : 'DIFFERENT from the source'} (sha256 ${target.slice(0, 16)}…)\n`);
    }
    io.stdout.write(`timeline picture: ${options.svgPath}\n`);
    return { outcomes: { current, legacy }, checksums, timelines, svgPath: options.svgPath, keptState: options.keepState ? work : undefined };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
    if (options.keepState) io.stdout.write(`state folder kept: ${work} (the fake's state in fake-vdsm-state/, engine-move's store in moves.sqlite)\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

/** A move that did not end moved. */
export class DemoFailure extends Error {
  readonly code = 'DEMO_MOVE_FAILED';
}

/** The default fixture's pool and domains (big enough for the disks), two hosts, the two disks on the iSCSI domain. */
export function demoFixture(options: DemoOptions): FixtureInput {
  const fixture = defaultFixture();
  const room = Math.max(100 * 1024 ** 3, 4 * options.diskBytes);
  fixture.domains = (fixture.domains ?? []).map((domain) => ({ ...domain, capacity: room }));
  const pieces = Math.max(1, Math.min(DATA_PIECES, Math.floor(options.dataBytes / 4096)));
  const piece = Math.floor(options.dataBytes / pieces / 4096) * 4096;
  const stride = Math.floor(options.diskBytes / pieces / 4096) * 4096;
  // A RAW disk on a block domain is a whole LV: VDSM has no sparse RAW there (the fake's LV is a sparse file).
  fixture.disks = (['current', 'legacy'] as const).map((flow) => ({
    id: DEMO_DISKS[flow].image,
    domain: DEFAULT_IDS.blockDomain,
    capacity: options.diskBytes,
    description: JSON.stringify({ DiskAlias: `demo-${flow}`, DiskDescription: 'vdsm-kit npm start' }),
    volumes: [
      {
        id: DEMO_DISKS[flow].volume,
        format: 'RAW' as const,
        allocation: 'PREALLOCATED' as const,
        data: Array.from({ length: pieces }, (_, index) => ({ offset: index * stride, pattern: (DEMO_DISKS[flow].pattern + index) % 256, length: piece })),
      },
    ],
  }));
  return fixture;
}

async function checksumOn(fake: FakeVdsm, domainId: string, flow: Flow): Promise<string> {
  return (await fake.checksum(domainId, DEMO_DISKS[flow].image, DEMO_DISKS[flow].volume)).checksum;
}

function viewFor(stream: NodeJS.WriteStream | NodeJS.WritableStream): MoveView {
  if ('isTTY' in stream && stream.isTTY === true) return new TerminalView(stream);
  return new PlainView((text) => stream.write(text));
}

function describeSetup(options: DemoOptions, fake: FakeVdsm): string {
  // VDSM wipes the whole LV, whole extents.
  const wipeSeconds = roundUpToExtents(options.diskBytes) / options.wipeBytesPerSecond;
  return [
    `fake VDSM: ${fake.hosts.length} hosts (${fake.hosts.map((host) => `${host.stomp.host}:${host.stomp.port}`).join(', ')}), state in a temporary folder`,
    `two ${formatBytes(options.diskBytes)} disks holding ${formatBytes(options.dataBytes)} each on the iSCSI domain, moving to the NFS domain with wipe-after-delete`,
    `the wipe takes ${wipeSeconds.toFixed(0)} s of storage time (${formatBytes(options.wipeBytesPerSecond)}/s), ${(wipeSeconds * options.timeScale).toFixed(1)} s here (time scale ${options.timeScale})`,
    '  new flow: engine-move copies, the disk is usable, then it deletes (and wipes) the source',
    '  legacy:   one Image.move copies, wipes and deletes; the disk is usable when all of it is over',
    '',
  ].join('\n');
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
