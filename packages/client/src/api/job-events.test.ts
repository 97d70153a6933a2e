import { expect } from 'chai';
import { EventRouter } from '../rpc/event-router.js';
import { jobStatusEventId, onJobStatus } from './job-events.js';
import type { JobStatusEvent } from './job-events.js';

const JOB = '7d9a3c1e-2b4f-4a6d-8e0f-1a2b3c4d5e6f';
const OTHER = '0f1e2d3c-4b5a-4697-8877-665544332211';

describe('job status events', () => {
  it("delivers the flat job info of one job's |jobs|status| event, and only that job's", () => {
    const router = new EventRouter();
    const seen: JobStatusEvent[] = [];
    const stop = onJobStatus(router, JOB, (info) => seen.push(info));
    const params = { id: JOB, status: 'done', description: 'copy_data', job_type: 'storage', progress: 100.0, notify_time: 4_312_345 };
    router.dispatch({ id: jobStatusEventId(OTHER), params: { ...params, id: OTHER } });
    router.dispatch({ id: `|jobs|status|${JOB}`, params });
    expect(seen).to.deep.equal([params]);
    stop();
    router.dispatch({ id: jobStatusEventId(JOB), params });
    expect(seen).to.have.length(1);
  });

  it('listens to every job with *, and skips an event without job fields', () => {
    const router = new EventRouter();
    const ids: string[] = [];
    onJobStatus(router, '*', (info) => ids.push(`${info.id}:${info.status}`));
    router.dispatch({ id: jobStatusEventId(JOB), params: { id: JOB, status: 'failed', description: 'copy_data', job_type: 'storage', error: { code: 911, message: 'x' } } });
    router.dispatch({ id: jobStatusEventId(OTHER), params: { job_info: {} } });
    router.dispatch({ id: '|virt|VM_status|x', params: { id: OTHER, status: 'Up' } });
    expect(ids).to.deep.equal([`${JOB}:failed`]);
  });
});
