/**
 * `SDM.copy_data` (hsm.py `sdm_copy_data`, sdm/api/copy_data.py;
 * vdsm-sdm.md §1): copies one volume's data into an existing volume (made
 * by `Volume.create` / `Image.cloneStructure` first) as a host job on the
 * host that got the call.
 *
 * Synchronous, in VDSM's order: the host's pool (313 `Storage pool not
 * connected: ()`), the destination endpoint, then the source (100 with
 * Python's `str(e)`: endpoints.ts), a job id still listed (100 `Job '<id>'
 * exists`); then `true`. Nothing else: domains, volumes, SPM, generation and
 * space are the job's business.
 *
 * The job (`Job._run`): the locks (`00_storage` SHARED on both domains,
 * `01_img_<dst sd>` EXCLUSIVE, the source image SHARED only when its id
 * differs from the destination's); the destination volume lease on a domain
 * with leases (651 at once when another host holds it); both volumes
 * produced (358, 201) and the source legal (227); an abort here ends it
 * `aborted`; `copy_bitmaps` with a RAW side fails 2009; a destination
 * generation that does not match fails 911 before any write; the
 * destination ILLEGAL; phase `copy` (task fault rules); the real copy
 * (data/copier.ts: qemu-img convert, or the built-in copier), with
 * `progress` a float 0..100 from the copy; on success one write: LEGAL and
 * generation (G+1) % 1000. On any failure nothing more is written: the
 * destination stays ILLEGAL at G. The lease and the locks go in the end.
 */
import { BLANK_UUID, pyTuple, SdmJobDescription, VdsmErrorCode, VolumeFormat, VolumeLegality } from '@vdsm-kit/client/api';
import { emulateLoose } from '../api/registry.js';
import type { EmulatedVerb } from '../api/registry.js';
import type { JobContext, JobHandler } from '../tasks/job-handler.js';
import { imageNamespace, STORAGE_NAMESPACE } from '../tasks/resource-locks.js';
import { storageError } from '../storage/checks.js';
import type { StorageContext } from '../storage/context.js';
import { copyVolumeData, markCopied } from '../storage/volume-data.js';
import { produceVolume } from '../storage/volume-info.js';
import { parseCopyEndpoint } from './endpoints.js';
import type { DivEndpoint } from './endpoints.js';
import { acquireJobLocks } from './host-jobs.js';
import type { HostJobRef } from './host-jobs.js';
import type { HostJob } from './job-table.js';
import { requireHostJobs, requirePoolConnected, scheduleHostJob, takeVolumeLease } from './job-start.js';

/** Job kind (and the sdm task's verb, VDSM's job description) of `SDM.copy_data`. */
export const COPY_DATA_JOB = SdmJobDescription.CopyData;

/** What the job gets (JSON). */
export interface CopyDataJobParams extends HostJobRef {
  readonly source: DivEndpoint;
  readonly destination: DivEndpoint;
  readonly copyBitmaps: boolean;
}

/** The `SDM.copy_data` verb. */
export function copyDataVerbs(ctx: StorageContext): EmulatedVerb[] {
  return [
    emulateLoose('SDM.copy_data', ['source', 'destination'], ({ job_id, source, destination, copy_bitmaps }) => {
      requirePoolConnected(ctx);
      // copy_data.Job.__init__ builds the destination first.
      const dst = parseCopyEndpoint(destination);
      const src = parseCopyEndpoint(source);
      scheduleHostJob(ctx, job_id, COPY_DATA_JOB, { source: src, destination: dst, copyBitmaps: copy_bitmaps }, 'SDM.copy_data');
      return true;
    }),
  ];
}

/** The job handler of `SDM.copy_data`, by kind. */
export function copyDataJobs(ctx: StorageContext): Record<string, JobHandler<CopyDataJobParams, never>> {
  return {
    [COPY_DATA_JOB]: {
      run: (task) => requireHostJobs(ctx).run(task, (job) => runCopyData(ctx, task, job)),
      // Nothing to undo: VDSM leaves a failed destination ILLEGAL for the engine to delete.
      rollback: () => Promise.resolve(),
    },
  };
}

async function runCopyData(ctx: StorageContext, task: JobContext<CopyDataJobParams, never>, job: HostJob): Promise<void> {
  const { source, destination, hostId, copyBitmaps } = task.params;
  const jobs = requireHostJobs(ctx);
  await acquireJobLocks(ctx.store, task, [
    { namespace: STORAGE_NAMESPACE, name: source.sdId, mode: 'shared' },
    { namespace: STORAGE_NAMESPACE, name: destination.sdId, mode: 'shared' },
    { namespace: imageNamespace(destination.sdId), name: destination.imgId, mode: 'exclusive' },
    ...(source.imgId === destination.imgId ? [] : [{ namespace: imageNamespace(source.sdId), name: source.imgId, mode: 'shared' as const }]),
  ]);
  const freeLease = await takeVolumeLease(ctx, jobs, destination, hostId);
  try {
    // prepare(): the source read-only and legal, the destination allowed ILLEGAL.
    const src = await produceVolume(ctx, source.sdId, source.imgId, source.volId);
    if (src.volume.legality !== VolumeLegality.Legal) throw storageError(VdsmErrorCode.prepareIllegalVolumeError, pyTuple(source.volId));
    const dst = await produceVolume(ctx, destination.sdId, destination.imgId, destination.volId);
    task.signal.throwIfAborted();
    if (job.abortRequested) return;
    if (copyBitmaps && (src.volume.format === VolumeFormat.RAW || dst.volume.format === VolumeFormat.RAW)) {
      throw storageError(VdsmErrorCode.UnsupportedOperation, 'reason=Cannot copy bitmaps from/to volumes with raw format, context={}');
    }
    // VolumeManifest.operation(requested_gen, set_illegal=True): the check comes before any write.
    const current = dst.volume.generation;
    if (destination.generation !== undefined && destination.generation !== current) {
      throw storageError(VdsmErrorCode.GenerationMismatch, `requested=${destination.generation}, actual=${current}`);
    }
    ctx.store.updateVolume(destination.sdId, destination.volId, { legality: VolumeLegality.Illegal });
    // The data phase: a fault here (failAt, hang, crash, ...) finds the destination ILLEGAL at G with the lease held.
    const copying = { domain: destination.sdId, image: destination.imgId };
    if (task.faultFires('copy', copying, ['dropJob'])) jobs.table(hostId).remove(job.id);
    await task.phase('copy', copying);
    const parentId = dst.volume.parentId;
    const targetParent = parentId === BLANK_UUID ? undefined : ctx.store.getVolume(destination.sdId, parentId);
    // A failed qemu-img (cmdutils.Error) is no VdsmException: the job reports it as 100 General Exception (host-jobs.ts).
    await copyVolumeData(ctx, {
      source: src.volume,
      target: { ...dst.volume, legality: VolumeLegality.Illegal },
      targetDomain: dst.domain,
      ...(targetParent === undefined ? {} : { targetParent }),
      signal: task.signal,
      onProgress: (fraction) => {
        task.progress(fraction);
        jobs.table(hostId).progress(job, fraction * 100);
      },
    });
    task.signal.throwIfAborted();
    jobs.table(hostId).progress(job, 100);
    markCopied(ctx, dst.volume);
    task.logger.info({ src: `${source.sdId}:${source.volId}`, dst: `${destination.sdId}:${destination.volId}` }, 'copy_data done');
  } finally {
    freeLease();
    // Taken out before it ends: its end is never listed (the event is still sent).
    if (task.faultFires('copy', { domain: destination.sdId, image: destination.imgId }, ['dropJobAtEnd'])) jobs.table(hostId).remove(job.id);
  }
}
