import { pyTuple, vdsmErrorFromRpc, vdsmMessage } from '@vdsm-kit/client/api';
import { expect } from 'chai';
import { INITIAL_RESULT, isStorageException, jobErrorResult, RUNNING_RESULT, stoppedResult, SUCCESS_RESULT } from './task-results.js';

const TASK = '0b5a2c1d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';

describe('task results (task.py TaskResult texts)', () => {
  it('words the running results as task.py does', () => {
    expect(INITIAL_RESULT).to.deep.equal({ code: 0, message: 'Task is initializing' });
    expect(RUNNING_RESULT).to.deep.equal({ code: 0, message: 'running job 1 of 1' });
    expect(SUCCESS_RESULT).to.deep.equal({ code: 0, message: '1 jobs completed successfully' });
  });

  it('keeps the code of a storage error and wraps str(e) in value=... abortedcode=...', () => {
    const error = vdsmErrorFromRpc({ code: 504, message: vdsmMessage(504, pyTuple()) });
    expect(jobErrorResult(error)).to.deep.equal({ code: 504, message: 'value=Volume Group not big enough: () abortedcode=504' });
  });

  it('reports code 100 for VDSM GeneralExceptions that are not storage errors, and for anything else', () => {
    const invalid = vdsmErrorFromRpc({ code: 1000, message: vdsmMessage(1000, 'op=3') });
    expect(jobErrorResult(invalid)).to.deep.equal({ code: 100, message: "value=Invalid parameter: 'op=3' abortedcode=100" });
    expect(jobErrorResult(new TypeError('boom'))).to.deep.equal({ code: 100, message: 'value=boom abortedcode=100' });
    expect(jobErrorResult('a string')).to.deep.equal({ code: 100, message: 'value=a string abortedcode=100' });
  });

  it('knows which VDSM codes are StorageExceptions', () => {
    for (const code of [200, 201, 212, 256, 261, 268, 309, 349, 358, 374, 397, 504, 550, 551, 654, 2001]) {
      expect(isStorageException(code), String(code)).to.equal(true);
    }
    for (const code of [7, 99, 100, 225, 401, 410, 411, 443, 559, 851, 1000, 2000, 3000, 4000, 5022, -32603]) {
      expect(isStorageException(code), String(code)).to.equal(false);
    }
  });

  it('reports a stopped job with 411: value=<taskID> when it threw, value=shutting down when it returned', () => {
    expect(stoppedResult(TASK, true)).to.deep.equal({ code: 411, message: `value=${TASK} abortedcode=411` });
    expect(stoppedResult(TASK, false)).to.deep.equal({ code: 411, message: 'value=shutting down abortedcode=411' });
  });
});
