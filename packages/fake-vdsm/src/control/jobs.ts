/**
 * The control API's view of the SDM host jobs (jobs/): every host's
 * listing, and the abort VDSM has no verb for.
 */
import { JobAbortError } from '../jobs/job-errors.js';
import type { StorageHost } from '../host/storage-host.js';
import { ControlError } from './control-api.js';
import type { JobView } from './control-api.js';
import { requireUuid } from './inspect.js';

/** The jobs of host `hostId`, or of every served host, host by host. */
export function listJobViews(storage: StorageHost, hostId?: unknown): JobView[] {
  const hosts = hostId === undefined ? storage.hosts.map((host) => host.id) : [requireServedHost(storage, hostId)];
  return hosts.flatMap((host) => storage.hostJobs.table(host).list().map((info) => ({ ...info, host })));
}

/** Aborts job `jobId` of host `hostId` (ControlError 'not_found' / 'conflict' / 'bad_request'). */
export function abortJobView(storage: StorageHost, hostId: unknown, jobId: unknown): JobView {
  const host = requireServedHost(storage, hostId);
  const id = requireUuid('job', jobId);
  try {
    return { ...storage.hostJobs.abort(host, id, storage.tasks), host };
  } catch (error) {
    if (error instanceof JobAbortError) throw new ControlError(error.code === 'NoSuchJob' ? 'not_found' : 'conflict', error.message);
    throw error;
  }
}

/** A served host's id, from a number or a decimal string (a query parameter). */
function requireServedHost(storage: StorageHost, value: unknown): number {
  const id = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1) throw new ControlError('bad_request', 'host must be a VDSM host id (an integer of at least 1)');
  if (!storage.hosts.some((host) => host.id === id)) throw new ControlError('not_found', `no host ${id}`);
  return id;
}
