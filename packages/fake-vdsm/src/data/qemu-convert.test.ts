import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VdsmError, VolumeAllocation, VolumeFormat } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { CommandFailedError, NoSpaceError } from './errors.js';
import { ProgressParser, planConvert, runConvert } from './qemu-convert.js';
import type { ConvertInput, ConvertPlan } from './qemu-convert.js';

const { COW, RAW } = VolumeFormat;
const { Preallocated, Sparse } = VolumeAllocation;
const DIRECT = { target: 'none', source: 'none' } as const;
const BASE: ConvertInput = { src: '/s/src', dst: '/d/dst', srcFormat: 'raw', dstFormat: RAW, dstAllocation: Sparse, domainKind: 'file', cache: DIRECT };

/** The options between the fixed head (`convert -p -t none -T none -f F -O F`) and the two paths. */
function optionsOf(plan: ConvertPlan): string[] {
  return plan.argv.slice(11, -2);
}

describe('data/qemu-convert', () => {
  describe('planConvert (VDSM qemuimg.convert with the volume rules)', () => {
    it('always starts like VDSM: convert -p -t none -T none -f <src> -O <dst>, and ends with src and dst', () => {
      const plan = planConvert('/usr/bin/qemu-img', { ...BASE, srcFormat: 'qcow2', dstFormat: COW });
      expect(plan.argv.slice(0, 11)).to.deep.equal(['/usr/bin/qemu-img', 'convert', '-p', '-t', 'none', '-T', 'none', '-f', 'qcow2', '-O', 'qcow2']);
      expect(plan.argv.slice(-2)).to.deep.equal(['/s/src', '/d/dst']);
    });

    it('lets qemu-img create a sparse RAW file target (requires_create)', () => {
      const plan = planConvert('qemu-img', BASE);
      expect(plan).to.include({ create: true, targetIsZero: false, unorderedWrites: false });
      expect(optionsOf(plan)).to.deep.equal([]);
    });

    it('writes into a preallocated RAW file target as zero-initialised: -n --target-is-zero', () => {
      const plan = planConvert('qemu-img', { ...BASE, dstAllocation: Preallocated });
      expect(plan.create).to.equal(false);
      expect(optionsOf(plan)).to.deep.equal(['-n', '--target-is-zero']);
    });

    it('writes into an existing qcow2 (compat 1.1) file target without a parent: -n --target-is-zero', () => {
      expect(optionsOf(planConvert('qemu-img', { ...BASE, srcFormat: 'qcow2', dstFormat: COW }))).to.deep.equal(['-n', '--target-is-zero']);
    });

    it('names the parent of a chain layer with -B/-F and drops --target-is-zero, which qemu-img refuses with a backing file', () => {
      const plan = planConvert('qemu-img', { ...BASE, srcFormat: 'qcow2', dstFormat: COW, backing: { path: '../img/base', format: RAW } });
      expect(optionsOf(plan)).to.deep.equal(['-B', '../img/base', '-F', 'raw', '-n']);
      expect(plan.targetIsZero).to.equal(false);
    });

    it('never recreates a block target and adds -W for RAW there (recommends_unordered_writes)', () => {
      expect(optionsOf(planConvert('qemu-img', { ...BASE, domainKind: 'block', dstAllocation: Preallocated }))).to.deep.equal(['-n', '-W']);
      expect(optionsOf(planConvert('qemu-img', { ...BASE, domainKind: 'block' }))).to.deep.equal(['-n', '-W']);
      const cow = planConvert('qemu-img', { ...BASE, domainKind: 'block', srcFormat: 'qcow2', dstFormat: COW, backing: { path: '../img/base', format: COW } });
      expect(optionsOf(cow)).to.deep.equal(['-B', '../img/base', '-F', 'qcow2', '-n']);
    });

    it('reads a raw source longer than its guest (an LV of whole extents) as its first srcSize bytes, commas in its path doubled', () => {
      const plan = planConvert('qemu-img', { ...BASE, src: '/s/a,b', srcSize: 8_388_608, dstAllocation: Preallocated });
      expect(plan.argv.slice(7, 10)).to.deep.equal(['--image-opts', '-O', 'raw']);
      expect(plan.argv.slice(-2)).to.deep.equal(['driver=raw,size=8388608,file.driver=file,file.filename=/s/a,,b', '/d/dst']);
      // A qcow2 source has its own virtual size: no size option.
      expect(planConvert('qemu-img', { ...BASE, srcFormat: 'qcow2', srcSize: 8_388_608 }).argv.slice(7, 9)).to.deep.equal(['-f', 'qcow2']);
    });

    it('uses the cache modes it is given (writeback where O_DIRECT is not supported)', () => {
      const plan = planConvert('qemu-img', { ...BASE, cache: { target: 'writeback', source: 'none' } });
      expect(plan.argv.slice(2, 7)).to.deep.equal(['-p', '-t', 'writeback', '-T', 'none']);
    });
  });

  describe('ProgressParser', () => {
    it('reads qemu-img -p records ended by \\r and reports growing fractions', () => {
      const parser = new ProgressParser();
      expect(parser.feed('    (0.00/100%)\r')).to.equal(0);
      expect(parser.feed('    (1.01/100%)\r    (2.50/100%)\r')).to.equal(0.025);
      expect(parser.feed('    (100.00/100%)\r')).to.equal(1);
    });

    it('waits for the rest of a record split across chunks', () => {
      const parser = new ProgressParser();
      expect(parser.feed('    (12.')).to.equal(undefined);
      expect(parser.feed('50/10')).to.equal(undefined);
      expect(parser.feed('0%)\r')).to.equal(0.125);
    });

    it('never goes back and ignores what is not a record', () => {
      const parser = new ProgressParser();
      expect(parser.feed('    (50.00/100%)\r')).to.equal(0.5);
      expect(parser.feed('    (40.00/100%)\r')).to.equal(undefined);
      expect(parser.feed('    (50.00/100%)\r')).to.equal(undefined);
      expect(parser.feed('garbage\r\n\r')).to.equal(undefined);
      expect(parser.feed('    (100/100%)\r')).to.equal(1);
    });
  });

  describe('runConvert (with stand-in qemu-img scripts)', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-convert-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** A plan running `script` (sh) as if it were qemu-img. */
    async function fakeQemuImg(name: string, script: string): Promise<ConvertPlan> {
      const path = join(dir, name);
      await writeFile(path, `#!/bin/sh\n${script}\n`);
      await chmod(path, 0o755);
      return { argv: [path, 'convert', join(dir, 'src'), join(dir, 'dst')], create: false, targetIsZero: true, unorderedWrites: false };
    }

    it('passes progress records on as they come, split or not', async () => {
      const plan = await fakeQemuImg('progress', String.raw`printf '    (0.00/100%%)\r    (33.'; sleep 0.05; printf '30/100%%)\r'; sleep 0.05; printf '    (100.00/100%%)\r'`);
      const seen: number[] = [];
      await runConvert(plan, { onProgress: (f) => seen.push(f) });
      expect(seen).to.deep.equal([0, 0.333, 1]);
    });

    it('turns a failure into CommandFailedError with qemu-img\'s words', async () => {
      const plan = await fakeQemuImg('fails', `echo "qemu-img: Could not open 'x': No such file or directory" >&2; exit 1`);
      const error = await runConvert(plan).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CommandFailedError);
      expect((error as CommandFailedError).exitCode).to.equal(1);
      expect((error as CommandFailedError).message).to.include('No such file or directory');
    });

    it('turns ENOSPC into NoSpaceError', async () => {
      const plan = await fakeQemuImg('enospc', `echo "qemu-img: error while writing at byte 1048576: No space left on device" >&2; exit 1`);
      const error = await runConvert(plan).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(NoSpaceError);
      expect((error as NoSpaceError).path).to.equal(join(dir, 'dst'));
    });

    it('kills the child on abort and ends with 443 ActionStopped', async () => {
      const plan = await fakeQemuImg('hangs', String.raw`printf '    (0.00/100%%)\r'; exec sleep 30`);
      const controller = new AbortController();
      // The child sleeps 30 s, past the test's timeout: ending at all means it was killed.
      const error = await runConvert(plan, { signal: controller.signal, onProgress: () => controller.abort() }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(VdsmError);
      expect((error as VdsmError).code).to.equal(443);
      expect((error as VdsmError).message).to.equal('Action was stopped');
    });

    it('is ActionStopped even when qemu-img finished before the kill landed, as in VDSM', async () => {
      const plan = await fakeQemuImg('quick', String.raw`printf '    (100.00/100%%)\r'`);
      const controller = new AbortController();
      const error = await runConvert(plan, { signal: controller.signal, onProgress: () => controller.abort() }).catch((e: unknown) => e);
      expect((error as VdsmError).code).to.equal(443);
    });

    it('kills the child when the domain has no space left (checked at each record and on the clock)', async () => {
      const plan = await fakeQemuImg('fills', String.raw`printf '    (0.00/100%%)\r'; exec sleep 30`);
      let left = 1;
      let firstCheck!: () => void;
      const checked = new Promise<void>((resolve) => (firstCheck = resolve));
      const clock = new ManualClock();
      const spaceLeft = (): number => {
        firstCheck();
        return left;
      };
      const run = runConvert(plan, { clock, spaceLeft });
      const outcome = run.catch((e: unknown) => e);
      // The first check found space; the domain then fills and the next poll on the clock sees it.
      await checked;
      left = 0;
      await clock.advanceAsync(1000);
      const error = await outcome;
      expect(error).to.be.instanceOf(NoSpaceError);
    });
  });
});
