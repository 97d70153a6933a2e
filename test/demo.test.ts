/**
 * `npm start`'s demo (demo/src), run as the command runs it (`main`), with
 * small sizes: both disks moved off the iSCSI domain with wipe-after-delete,
 * their checksums on the target equal to the source's, the new flow's disk
 * available before the legacy one's (the legacy verb makes it wait for the
 * wipe), the timeline SVG written and well-formed XML with both flows and
 * their "available" marks, and nothing of the fake left behind. Once with
 * qemu-img (when installed), once with the built-in copier, as on a machine
 * without qemu-img.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { main } from '../demo/src/main.js';
import { parseDemoArgs } from '../demo/src/options.js';
import { runDemo } from '../demo/src/run-demo.js';

/** A stream that keeps what is written to it. */
class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** The demo's temporary folders currently in the temp dir (the test's own: TMPDIR points into it). */
async function demoFolders(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('vdsm-kit-demo-'));
}

describe('npm start: the demo', function () {
  this.timeout(60_000);
  let dir: string;
  const savedTmp = process.env.TMPDIR;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'demo-test-'));
    // A temp dir of the test's own: other runs on the machine make demo folders too, and one of theirs is no leak of this one.
    process.env.TMPDIR = dir;
  });
  afterEach(async () => {
    delete process.env.FAKE_VDSM_NO_QEMU;
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await rm(dir, { recursive: true, force: true });
  });

  // 1 GiB disks (8 extents), a wipe of 10 s of storage time made 0.5 s by the time scale.
  const args = (svg: string): string[] => ['--size-gib', '1', '--data-mib', '8', '--wipe-rate', '100', '--time-scale', '0.05', '--svg', svg];

  for (const copier of ['qemu-img when installed', 'the built-in copier (no qemu-img)'] as const) {
    it(`moves both disks, same checksums, the new flow available first, the SVG with both flows; ${copier}`, async () => {
      if (copier.startsWith('the built-in')) process.env.FAKE_VDSM_NO_QEMU = '1';
      const svg = join(dir, 'timeline.svg');
      const before = await demoFolders();
      const [stdout, stderr] = [new Collect(), new Collect()];
      const code = await main(args(svg), { stdout, stderr });
      expect(code, stderr.text).to.equal(0);
      expect(stdout.text).to.match(/new flow: copy finished at \+[\d.]+ s, disk available at \+[\d.]+ s, source wiped at \+[\d.]+ s/);
      expect(stdout.text).to.match(/legacy: +disk available at \+[\d.]+ s, only after the wipe/);
      expect(stdout.text).to.include(`timeline picture: ${svg}`);
      // Plain progress lines on a non-terminal, one per event, from engine-move's view.
      expect(stderr.text).to.match(/disk available on the target at/);

      const text = await readFile(svg, 'utf8');
      expect(XMLValidator.validate(text)).to.equal(true);
      const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(text);
      const groups = [doc.svg.g].flat();
      expect(groups.map((g: { 'data-mode': string }) => g['data-mode'])).to.deep.equal(['copy-delete', 'legacy']);
      for (const g of groups) expect(g.line).to.include({ class: 'available' });
      // The new flow's mark is left of the legacy one's on the shared axis.
      const [currentMark, legacyMark] = groups.map((g: { line: { x1: string } }) => Number(g.line.x1));
      expect(currentMark).to.be.below(legacyMark!);
      expect(await demoFolders()).to.deep.equal(before);
    });
  }

  it('gives the library caller the outcomes: moved, checksums equal, available before the legacy one, the wipe after', async () => {
    const parsed = parseDemoArgs(args(join(dir, 'timeline.svg')));
    if (parsed.kind !== 'run') throw new Error('expected options');
    const result = await runDemo({ ...parsed.options, keepState: true }, { stdout: new Collect(), stderr: new Collect() });
    try {
      expect(result.outcomes.current).to.include({ result: 'moved', mode: 'copy-delete', failedPhase: null });
      expect(result.outcomes.legacy).to.include({ result: 'moved', mode: 'legacy', failedPhase: null });
      for (const { source, target } of Object.values(result.checksums)) expect(target).to.equal(source);
      const { current, legacy } = result.timelines;
      expect(current.available).to.be.below(legacy.available);
      // The new flow's disk is usable before its source is wiped; the legacy one only when the verb is over.
      expect(current.available).to.be.below(current.done);
      expect(legacy.available).to.equal(legacy.done);
      expect(result.keptState).to.be.a('string');
      expect(await readdir(result.keptState!)).to.include.members(['fake-vdsm-state', 'moves.sqlite']);
    } finally {
      if (result.keptState !== undefined) await rm(result.keptState, { recursive: true, force: true });
    }
  });

  it('--help lists the options and runs nothing; a bad value is a usage error (2)', async () => {
    const [stdout, stderr] = [new Collect(), new Collect()];
    expect(await main(['--help'], { stdout, stderr })).to.equal(0);
    for (const option of ['--size-gib', '--data-mib', '--wipe-rate', '--time-scale', '--svg', '--keep-state']) expect(stdout.text).to.include(option);
    const bad = new Collect();
    expect(await main(['--wipe-rate', '0'], { stdout: new Collect(), stderr: bad })).to.equal(2);
    expect(bad.text).to.include('--wipe-rate must be a number > 0');
    expect(await main(['--size-gib', '1', '--data-mib', '2048'], { stdout: new Collect(), stderr: new Collect() })).to.equal(2);
  });
});
