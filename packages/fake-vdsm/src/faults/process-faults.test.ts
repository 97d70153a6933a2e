import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { crashProcess, ProcessCrashError } from './process-faults.js';

describe('faults/process-faults crashProcess', () => {
  it('emulate: lets go now, calls onCrash on a later turn, returns the error the job throws', async () => {
    const order: string[] = [];
    let crashed!: () => void;
    const done = new Promise<void>((resolve) => (crashed = resolve));
    const error = crashProcess(
      {
        mode: 'emulate',
        onCrash: () => {
          order.push('onCrash');
          crashed();
        },
      },
      () => order.push('letGo'),
      () => order.push('error'),
    );
    order.push('returned');
    expect(error).to.be.instanceOf(ProcessCrashError);
    await done;
    expect(order).to.deep.equal(['letGo', 'returned', 'onCrash']);
  });

  it('emulate: an onCrash failure goes to onError, never to an unhandled rejection', async () => {
    const errors: unknown[] = [];
    crashProcess({ onCrash: () => Promise.reject(new Error('boom')) }, () => {}, (e) => errors.push(e));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['boom']);
  });

  it('exit: the process SIGKILLs itself (a real child process)', async function () {
    this.timeout(20_000);
    const module = fileURLToPath(new URL('./process-faults.ts', import.meta.url));
    const script = `const { crashProcess } = await import(${JSON.stringify(module)}); ` +
      `crashProcess({ mode: 'exit' }, () => {}, () => {}); console.log('still alive');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect([code, signal]).to.deep.equal([null, 'SIGKILL']);
    expect(out).to.not.include('still alive');
  });
});
