import { ManualClock } from '@vdsm-kit/client/clock';
import { VdsmErrorCode } from '@vdsm-kit/client/api';
import type { HostJobInfo } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { vdsmThrown } from '../test-support/vdsm-rejection.js';
import { DEFAULT_JOB_AUTODELETE_MS, HostJobTable } from './job-table.js';

const A = '0a0a0a0a-0000-4000-8000-00000000000a';
const B = '0b0b0b0b-0000-4000-8000-00000000000b';

describe('jobs/job-table', () => {
  it('lists a job pending, then running with its float progress, then done; the end is told once', () => {
    const table = new HostJobTable({ clock: new ManualClock() });
    const ended: HostJobInfo[] = [];
    table.onEnded((info) => ended.push(info));
    const job = table.add(A, 'copy_data');
    expect(table.infos(null, [])).to.deep.equal({ [A]: { id: A, status: 'pending', description: 'copy_data', job_type: 'storage' } });
    table.started(job);
    table.progress(job, 42.5);
    expect(table.infos('storage', [A])[A]).to.deep.equal({ id: A, status: 'running', description: 'copy_data', job_type: 'storage', progress: 42.5 });
    table.end(job, 'done');
    table.end(job, 'failed', { code: 1, message: 'late' });
    expect(ended).to.deep.equal([{ id: A, status: 'done', description: 'copy_data', job_type: 'storage', progress: 42.5 }]);
  });

  it('filters by type and ids: unknown ids are just absent, v2v asks for nothing of ours', () => {
    const table = new HostJobTable({ clock: new ManualClock() });
    table.add(A, 'copy_data');
    table.add(B, 'update_volume');
    expect(Object.keys(table.infos(null, [B, '0c0c0c0c-0000-4000-8000-00000000000c']))).to.deep.equal([B]);
    expect(table.infos('v2v', [])).to.deep.equal({});
    expect(Object.keys(table.infos('storage', []))).to.deep.equal([A, B]);
  });

  it('gives error only to a failed job', () => {
    const table = new HostJobTable({ clock: new ManualClock() });
    const job = table.add(A, 'copy_data');
    table.end(job, 'failed', { code: 911, message: 'The provided generation does not match the actual generation' });
    expect(table.get(A)?.status).to.equal('failed');
    expect(table.infos(null, [A])[A]?.error).to.deep.equal({ code: 911, message: 'The provided generation does not match the actual generation' });
  });

  it('keeps an ended job (and its id taken) for 3600 s of the clock, then drops it', async () => {
    const clock = new ManualClock();
    const table = new HostJobTable({ clock });
    table.end(table.add(A, 'copy_data'), 'done');
    expect(vdsmThrown(() => table.add(A, 'copy_data'))).to.include({ code: VdsmErrorCode.GeneralException, message: `Job '${A}' exists` });
    await clock.advanceAsync(DEFAULT_JOB_AUTODELETE_MS - 1);
    expect(table.get(A)?.status).to.equal('done');
    await clock.advanceAsync(1);
    expect(table.infos(null, [])).to.deep.equal({});
    expect(table.add(A, 'copy_data').status).to.equal('pending');
  });

  it('never drops a running job, and keeps ended ones for good with a negative delay', async () => {
    const clock = new ManualClock();
    const table = new HostJobTable({ clock, autodeleteDelayMs: -1 });
    table.started(table.add(A, 'copy_data'));
    table.end(table.add(B, 'copy_data'), 'aborted');
    await clock.advanceAsync(10 * DEFAULT_JOB_AUTODELETE_MS);
    expect(Object.keys(table.infos(null, []))).to.deep.equal([A, B]);
    expect(clock.pending).to.equal(0);
  });

  it('takes a dropped job out at once; its end is still told, never listed', () => {
    const table = new HostJobTable({ clock: new ManualClock() });
    const ended: string[] = [];
    table.onEnded((info) => ended.push(info.status));
    const job = table.add(A, 'copy_data');
    table.started(job);
    expect(table.remove(A)).to.equal(true);
    expect(table.infos(null, [A])).to.deep.equal({});
    table.end(job, 'done');
    expect(ended).to.deep.equal(['done']);
    expect(table.get(A)).to.equal(undefined);
  });

  it('forgets everything when closed, and tells no more ends', () => {
    const table = new HostJobTable({ clock: new ManualClock() });
    const ended: string[] = [];
    table.onEnded((info) => ended.push(info.id));
    const job = table.add(A, 'copy_data');
    table.close();
    table.end(job, 'done');
    expect(ended).to.deep.equal([]);
    expect(table.list()).to.deep.equal([]);
  });
});
