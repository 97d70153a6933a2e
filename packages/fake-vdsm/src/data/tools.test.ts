import { VdsmError } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { CommandFailedError } from './errors.js';
import { NO_QEMU_ENV, findDataTools, findExecutable, runCommand } from './tools.js';

describe('data/tools', () => {
  describe('findExecutable', () => {
    it('finds a program on PATH as an absolute path', async () => {
      expect(await findExecutable('sh')).to.match(/^\/.*\/sh$/);
    });

    it('answers undefined for a program that is not there', async () => {
      expect(await findExecutable('no-such-program-fake-vdsm')).to.equal(undefined);
    });
  });

  describe('findDataTools', () => {
    const saved = process.env[NO_QEMU_ENV];
    afterEach(() => {
      if (saved === undefined) delete process.env[NO_QEMU_ENV];
      else process.env[NO_QEMU_ENV] = saved;
    });

    it(`drops qemu-img and qemu-io when ${NO_QEMU_ENV}=1, keeping the rest`, async () => {
      const all = await findDataTools();
      process.env[NO_QEMU_ENV] = '1';
      const without = await findDataTools();
      expect(without.qemuImg).to.equal(undefined);
      expect(without.qemuIo).to.equal(undefined);
      expect(without.perl).to.equal(all.perl);
      expect(without.fallocate).to.equal(all.fallocate);
    });
  });

  describe('runCommand', () => {
    it('returns what the command printed, in the C locale', async () => {
      const { stdout, stderr } = await runCommand(['sh', '-c', 'echo "$LC_ALL"; echo err >&2']);
      expect(stdout).to.equal('C\n');
      expect(stderr).to.equal('err\n');
    });

    it('throws CommandFailedError with the exit code and both outputs on failure', async () => {
      const error = await runCommand(['sh', '-c', 'echo out; echo bad thing >&2; exit 3']).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CommandFailedError);
      const failed = error as CommandFailedError;
      expect(failed.exitCode).to.equal(3);
      expect(failed.stdout).to.equal('out\n');
      expect(failed.stderr).to.equal('bad thing\n');
      expect(failed.message).to.include('exit 3').and.include('bad thing');
    });

    it('kills the command on abort and throws 443 ActionStopped', async () => {
      const controller = new AbortController();
      const run = runCommand(['sleep', '30'], { signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      const error = await run.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(VdsmError);
      expect((error as VdsmError).code).to.equal(443);
    });

    it('does not start when already aborted', async () => {
      const error = await runCommand(['sh', '-c', 'exit 0'], { signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect((error as VdsmError).code).to.equal(443);
    });

    it('rejects with the spawn error for a missing program', async () => {
      const error = await runCommand(['/no/such/program']).catch((e: unknown) => e);
      expect((error as NodeJS.ErrnoException).code).to.equal('ENOENT');
    });
  });
});
