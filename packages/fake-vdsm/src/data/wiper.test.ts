import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmError, VolumeFormat } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { checksumBytes } from './checksum.js';
import { writeScatteredData } from './scattered-data.js';
import { MiB } from './sizes.js';
import { findDataTools } from './tools.js';
import type { DataTools } from './tools.js';
import { checksum, createRaw, sizeOf, verifyPattern, writePattern } from './volume-files.js';
import { DEFAULT_WIPE_RATE, WIPE_STEP, zeroVolume } from './wiper.js';
import type { ZeroVolumeOptions } from './wiper.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

const SIZE = 256 * MiB;

/** How far the manual clock moves per tick; the tests' step durations are multiples of it. */
const TICK_MS = 10;

/**
 * Runs `zeroVolume` on a manual clock, moving time in small ticks and only
 * while the wipe waits on it, so the clock time it took is exact. Resolves
 * with that clock time, or rejects as the wipe did. `onTick` sees the clock
 * after each tick.
 */
async function wipeOnManualClock(options: Omit<ZeroVolumeOptions, 'clock'>, onTick?: (clock: ManualClock) => void): Promise<number> {
  const clock = new ManualClock();
  let outcome: { error: unknown } | undefined;
  const wipe = zeroVolume({ ...options, clock }).then(
    () => (outcome = { error: undefined }),
    (error: unknown) => (outcome = { error }),
  );
  while (outcome === undefined) {
    if (clock.pending > 0) {
      await clock.advanceAsync(TICK_MS);
      onTick?.(clock);
    } else {
      // The wipe is doing real I/O; let it.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await wipe;
  if (outcome.error !== undefined) throw outcome.error;
  return clock.now();
}

describe('data/wiper', function () {
  let tools: DataTools;
  let dir: string;
  let serial = 0;

  before(async () => {
    tools = await findDataTools();
    dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-wiper-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A 256 MiB volume with data spread over all of it. */
  async function volumeWithData(): Promise<string> {
    const path = join(dir, `volume-${++serial}`);
    await createRaw(path, SIZE);
    await writeScatteredData(path, { pieces: 32, pieceSize: 256 * 1024 });
    return path;
  }

  const zeroSum = checksumBytes(Buffer.alloc(SIZE));

  for (const { how, punch } of [
    { how: 'punching holes (fallocate)', punch: true },
    { how: 'writing zeros over the data (no fallocate)', punch: false },
  ]) {
    it(`zeroes the whole file by ${how}, taking size / rate on the clock (not real time)`, async function () {
      skipUnless(this, !punch || tools.fallocate !== undefined, 'fallocate is not installed (Debian: util-linux)');
      const { fallocate: _, ...withoutFallocate } = tools;
      const chosen = punch ? tools : withoutFallocate;
      const path = await volumeWithData();
      const progress: number[] = [];
      const clockMs = await wipeOnManualClock({ path, size: SIZE, tools: chosen, onProgress: (f) => progress.push(f) });
      // 256 MiB at the default 100 MiB/s: 2.56 s of clock time (a real-time wait would leave the manual clock at 0).
      expect(clockMs).to.equal((SIZE / DEFAULT_WIPE_RATE) * 1000);
      expect(await checksum(path, VolumeFormat.RAW)).to.equal(zeroSum);
      expect((await sizeOf(path)).apparent).to.equal(SIZE);
      // 8 steps of 32 MiB.
      const steps = SIZE / WIPE_STEP;
      expect(progress).to.deep.equal(Array.from({ length: steps }, (_, i) => (i + 1) / steps));
      // Punched holes free the blocks; zeros written over data keep them (nothing grows either way).
      if (punch) expect((await sizeOf(path)).true).to.equal(0);
      else expect((await sizeOf(path)).true).to.be.at.most(32 * 256 * 1024);
    });
  }

  it('runs at the given rate, with a last partial step', async () => {
    const path = join(dir, 'odd');
    await createRaw(path, 40 * MiB);
    await writePattern(path, 39 * MiB, MiB, 0xf0);
    const clockMs = await wipeOnManualClock({ path, size: 40 * MiB, bytesPerSecond: 10 * MiB, tools });
    expect(clockMs).to.equal(4000);
    expect(await verifyPattern(path, 0, 40 * MiB, 0)).to.equal(true);
  });

  it('zeroes only what the file holds when the LV size is larger, yet takes the time of the LV size', async () => {
    const path = join(dir, 'short');
    await createRaw(path, 100 * MiB);
    await writePattern(path, 50 * MiB, MiB, 0xf1);
    const clockMs = await wipeOnManualClock({ path, size: 128 * MiB, tools });
    expect(clockMs).to.equal(1280);
    expect((await sizeOf(path)).apparent).to.equal(100 * MiB);
    expect(await verifyPattern(path, 50 * MiB, MiB, 0)).to.equal(true);
  });

  it('stops with 443 ActionStopped on abort, leaving the zeroed prefix zeroed and the rest untouched', async () => {
    const path = join(dir, 'aborted');
    await createRaw(path, SIZE);
    await writePattern(path, 0, MiB, 0xf0);
    await writePattern(path, SIZE - MiB, MiB, 0xf1);
    const controller = new AbortController();
    const progress: number[] = [];
    const error = await wipeOnManualClock({ path, size: SIZE, tools, signal: controller.signal, onProgress: (f) => progress.push(f) }, (clock) => {
      // Stop it a third of the way (after about 0.85 s of its 2.56 s).
      if (clock.now() >= 800) controller.abort();
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(VdsmError);
    expect((error as VdsmError).code).to.equal(443);
    expect(progress.length).to.be.within(1, 7);
    expect(await verifyPattern(path, 0, MiB, 0)).to.equal(true);
    expect(await verifyPattern(path, SIZE - MiB, MiB, 0xf1)).to.equal(true);
  });

  it('stops at once when aborted before it starts', async () => {
    const path = await volumeWithData();
    const before = await checksum(path, VolumeFormat.RAW);
    const controller = new AbortController();
    controller.abort();
    const error = await zeroVolume({ path, size: SIZE, clock: new ManualClock(), signal: controller.signal, tools }).catch((e: unknown) => e);
    expect((error as VdsmError).code).to.equal(443);
    expect(await checksum(path, VolumeFormat.RAW)).to.equal(before);
  });

  it('refuses a bad size or rate', async () => {
    const path = await volumeWithData();
    const good = { path, size: SIZE, clock: new ManualClock(), tools };
    for (const bad of [{ size: -1 }, { size: 1.5 }, { bytesPerSecond: 0 }]) {
      const error = await zeroVolume({ ...good, ...bad }).catch((e: unknown) => e);
      expect(error, JSON.stringify(bad)).to.be.instanceOf(RangeError);
    }
  });
});
