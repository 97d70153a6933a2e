/**
 * sd.py / blockSD.py `validateCreateVolumeParams`: the format and
 * allocation a new volume may have on a domain, checked by `Volume.create`
 * and `Volume.copy` before they schedule their job.
 */
import { BLANK_UUID, pyTuple, VdsmErrorCode, VolumeAllocation, VolumeFormat, VolumeFormatName } from '@vdsm-kit/client/api';
import type { DomainRecord } from '../model/records.js';
import { storageError } from './checks.js';

const FORMATS: ReadonlySet<number> = new Set(Object.values(VolumeFormat));
const ALLOCATIONS: ReadonlySet<number> = new Set(Object.values(VolumeAllocation));

/**
 * Refuses what VDSM refuses, in its order.
 *
 * @throws VdsmError 202 `Incorrect Volume format: (<format>,)` for a format
 *   other than 4/5; 202 `Incorrect Volume format: ('RAW',)` for a RAW volume
 *   with a parent (only COW layers sit on a parent); 231 `Incorrect Volume
 *   Preallocate Type: (<value>,)` for an allocation other than 1/2; on a block
 *   domain 202 `('RAW',)` for a sparse RAW volume (an LV is always allocated).
 */
export function validateCreateVolumeParams(domain: DomainRecord, volFormat: number, srcVolUUID: string, preallocate: number): void {
  if (!FORMATS.has(volFormat)) throw storageError(VdsmErrorCode.IncorrectFormat, pyTuple(volFormat));
  const formatName = VolumeFormatName[volFormat as VolumeFormat];
  if (srcVolUUID !== BLANK_UUID && volFormat !== VolumeFormat.COW) throw storageError(VdsmErrorCode.IncorrectFormat, pyTuple(formatName));
  if (!ALLOCATIONS.has(preallocate)) throw storageError(VdsmErrorCode.IncorrectType, pyTuple(preallocate));
  if (domain.kind === 'block' && preallocate === VolumeAllocation.Sparse && volFormat === VolumeFormat.RAW) {
    throw storageError(VdsmErrorCode.IncorrectFormat, pyTuple(formatName));
  }
}
