/**
 * Assertions the storage suites share: a call that VDSM refuses (code AND
 * message, as the typed error the client raised), and a task that ended as
 * VDSM words it.
 */
import { VdsmError } from '@vdsm-kit/client/api';
import type { TaskOutcome, TaskStatus } from '@vdsm-kit/client';
import { expect } from 'chai';
import { rejectionOf } from './outcome.js';
import { TaskWords } from './storage-oracle.js';

/** Asserts `call` fails with VDSM error `code` and exactly `message`; returns the error. */
export async function expectVdsmError(call: Promise<unknown>, code: number, message: string): Promise<VdsmError> {
  const error = await rejectionOf(call, `a call expected to fail with ${code}`);
  expect(error, String(error)).to.be.instanceOf(VdsmError);
  const vdsmError = error as VdsmError;
  expect({ code: vdsmError.code, message: vdsmError.message }).to.deep.equal({ code, message });
  return vdsmError;
}

/** What a failed task's message must be: exactly, or VDSM's class message then a runtime-built value. */
export type ExpectedMessage = string | { readonly prefix: string };

/**
 * Asserts `outcome` is a task that failed and was rolled back as VDSM
 * reports it: finished, cleanSuccess, `code`, and the message.
 */
export function expectRolledBack(outcome: TaskOutcome, code: number, message: ExpectedMessage): TaskStatus {
  expect(outcome.kind, JSON.stringify(outcome)).to.equal('failure');
  if (outcome.kind !== 'failure') throw new Error('unreachable');
  expect(outcome.status.taskState).to.equal(TaskWords.finished);
  expect(outcome.status.taskResult).to.equal(TaskWords.cleanSuccess);
  expect(outcome.code).to.equal(code);
  if (typeof message === 'string') {
    expect(outcome.message).to.equal(message);
  } else {
    expect(outcome.message).to.match(new RegExp(`^${escapeRegExp(message.prefix)}.* abortedcode=${code}$`, 's'));
  }
  // The client turns it into the error VDSM would have raised for the code.
  expect(outcome.error).to.be.instanceOf(VdsmError);
  expect(outcome.error.code).to.equal(code);
  return outcome.status;
}

/** Asserts `outcome` is a task that succeeded, worded as VDSM words it. */
export function expectSucceeded(outcome: TaskOutcome): TaskStatus {
  expect(outcome.kind, JSON.stringify(outcome)).to.equal('success');
  if (outcome.kind !== 'success') throw new Error('unreachable');
  expect(outcome.status).to.deep.equal(successStatus(outcome.taskId));
  return outcome.status;
}

/** VDSM's status of a task whose job succeeded. */
export function successStatus(taskId: string): TaskStatus {
  return { taskID: taskId, taskState: TaskWords.finished, taskResult: TaskWords.success, code: 0, message: TaskWords.completed };
}

/** VDSM's status of a task whose job is running. */
export function runningStatus(taskId: string): TaskStatus {
  return { taskID: taskId, taskState: TaskWords.running, taskResult: TaskWords.noResult, code: 0, message: TaskWords.runningJob };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
