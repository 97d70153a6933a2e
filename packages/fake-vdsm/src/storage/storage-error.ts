/**
 * The one way the fake builds VDSM's storage errors. A leaf module (it
 * imports only the client's error table), so the fault layer and the task
 * manager can raise VDSM errors without importing the storage checks, which
 * import the storage context, which names the task manager.
 */
import { vdsmErrorFromRpc, vdsmMessage } from '@vdsm-kit/client/api';
import type { PyValue, VdsmError } from '@vdsm-kit/client/api';

/**
 * The `VdsmError` VDSM raises with `code` and `value`, worded as VDSM's
 * `str(exception)` (see `vdsmMessage`): `storageError(401, pyTuple(id))` is
 * `Task id unknown: ('<id>',)`; no value gives the bare class message. The
 * class is the client's most specific one for the code, so `instanceof`
 * works the same on both sides of the wire.
 */
export function storageError(code: number, value?: PyValue): VdsmError {
  return vdsmErrorFromRpc({ code, message: vdsmMessage(code, value) });
}
