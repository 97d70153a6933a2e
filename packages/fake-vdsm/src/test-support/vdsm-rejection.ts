import { VdsmError } from '@vdsm-kit/client/api';
import { expect } from 'chai';

/** The `VdsmError` that `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function vdsmRejection(promise: Promise<unknown>): Promise<VdsmError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(VdsmError);
    return error as VdsmError;
  }
  throw new Error('expected a rejection');
}

/** The `VdsmError` that `fn` throws; fails the test when it returns or throws anything else. */
export function vdsmThrown(fn: () => unknown): VdsmError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(VdsmError);
    return error as VdsmError;
  }
  throw new Error('expected an error');
}
