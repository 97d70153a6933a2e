import { expect } from 'chai';
import { jobStatusEventBody } from './job-events.js';

const JOB = '0a0a0a0a-0000-4000-8000-00000000000a';

describe('jobs/job-events', () => {
  it("encodes the end of a job as VDSM's notification: flat info, progress a float, notify_time in ms", () => {
    const body = jobStatusEventBody({ id: JOB, status: 'done', description: 'copy_data', job_type: 'storage', progress: 100 }, 4_312_345.6);
    expect(body).to.equal(
      `{"jsonrpc": "2.0", "method": "|jobs|status|${JOB}", "params": {"id": "${JOB}", "status": "done", "description": "copy_data", "job_type": "storage", "progress": 100.0, "notify_time": 4312345}}`,
    );
  });

  it('sends no progress for a job without one, and the error of a failed one', () => {
    const body = JSON.parse(
      jobStatusEventBody({ id: JOB, status: 'failed', description: 'update_volume', job_type: 'storage', error: { code: 911, message: 'x' } }, 1),
    ) as { params: Record<string, unknown> };
    expect(body.params).to.deep.equal({ id: JOB, status: 'failed', description: 'update_volume', job_type: 'storage', error: { code: 911, message: 'x' }, notify_time: 1 });
  });
});
