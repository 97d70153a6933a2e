import { ManualClock } from '@vdsm-kit/client/clock';
import { VERBS } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { storageJobs } from '../api/storage.js';
import type { StorageContext } from '../storage/context.js';
import { TASK_KINDS } from './task-catalog.js';

describe('faults/task-catalog', () => {
  it('lists exactly the job kinds the fake registers, each started by task verbs of the client table', () => {
    // storageJobs only builds handlers; none runs, so a bare context will do.
    const ctx = { clock: new ManualClock() } as unknown as StorageContext;
    expect(Object.keys(TASK_KINDS).sort()).to.deep.equal(Object.keys(storageJobs(ctx)).sort());
    for (const [kind, info] of Object.entries(TASK_KINDS)) {
      for (const method of info.methods) {
        expect(VERBS, `${kind}: ${method}`).to.have.property(method);
        // A host job's verb answers true and runs its job in an sdm task.
        expect((VERBS as Record<string, { returnsTask?: boolean }>)[method]?.returnsTask, `${method} answers a task id`).to.equal(info.hostJob !== true);
      }
    }
  });
});
