/**
 * The errors of SDM verbs and jobs that are not VDSM storage exceptions:
 * VDSM's dispatcher answers any other Python exception with 100 and `str(e)`
 * alone (storage/exception.py `GENERAL_EXCEPTION = lambda e: (100, str(e))`),
 * and a job reports one as 100 `General Exception: ('<str(e)>',)`
 * (jobs.py `_run_failed` wraps it in `GeneralException`).
 */
import { pyTuple, vdsmErrorFromRpc, VdsmErrorCode } from '@vdsm-kit/client/api';
import type { VdsmError } from '@vdsm-kit/client/api';
import { storageError } from '../storage/storage-error.js';

/** A synchronous 100 whose message is a Python exception's `str(e)` (a ValueError of the endpoint properties, ...). */
export function plainGeneralError(text: string): VdsmError {
  return vdsmErrorFromRpc({ code: VdsmErrorCode.GeneralException, message: text });
}

/** jobs.py `JobExistsError("Job %r exists" % id)`, answered as 100 with its `str`. */
export function jobExistsError(id: string): VdsmError {
  return plainGeneralError(`Job '${id}' exists`);
}

/** A job's failure from a non-VDSM exception (a qemu-img that failed): 100 `General Exception: ('<text>',)`. */
export function jobGeneralError(text: string): VdsmError {
  return storageError(VdsmErrorCode.GeneralException, pyTuple(text));
}

/** Why a job cannot be aborted: VDSM's jobs.py `NoSuchJob` / `JobNotActive` (which no API verb reaches; the fake's control API does). */
export class JobAbortError extends Error {
  override readonly name = 'JobAbortError';
  constructor(
    readonly code: 'NoSuchJob' | 'JobNotActive',
    message: string,
  ) {
    super(message);
  }
}
