/**
 * The SDM path's data copy (issue 12, vdsm-sdm.md s5 and checklist s6.2):
 * once the structure exists on the target, one `SDM.copy_data` host job per
 * volume, base first, one at a time, on the least busy pool host. Every step
 * starts from the store: the job's placeholder {job_id, host, G} is written
 * BEFORE the call, so a restart finds the job on that host (`Host.getJobs`)
 * or, when the host no longer lists it or cannot be reached, asks the volume
 * itself (entity polling: lease owners -> running, G+1 -> done, G+3 ->
 * failed), and when the volume cannot tell, fences it (`SDM.update_volume`
 * to G+3, so that a late or queued copy fails its generation check) and asks
 * again. A copy is never sent again on a guess: a retry (`copyRetries`) comes
 * only after a definite failure, with a fresh G and a new job id on another host.
 */
import { randomUUID } from 'node:crypto';
import { VdsmError, VdsmNetworkError } from '@vdsm-kit/client';
import type { VolumeInfo } from '@vdsm-kit/client';
import type { MoveStore } from '../store/move-store.js';
import type { MoveRecord, SdmJobRecord, VolumeRecord } from '../store/records.js';
import type { HostJobTracker, JobEnd } from '../tasks/host-job-tracker.js';
import type { PoolHost } from '../tasks/pool-host.js';
import { connectedHosts, leastBusy } from './copy-host.js';
import { failpoint } from './failpoints.js';
import type { MoveEvent } from './transitions.js';

/** The engine's ENTITY_FENCING_GENERATION_DIFF (StorageConstants.java). */
export const FENCING_GENERATION_DIFF = 3;
/** VDSM's generation wraps at MAX_GENERATION 999 (storage/utils.py next_generation). */
const GENERATIONS = 1000;

/**
 * End codes of a job that VDSM never reported an error for. A job that never
 * reached its host (a placeholder its host does not list, fenced before it
 * could write) is no failure of the copy and costs no retry; an aborted job
 * (only the fake's control API aborts one) has no VDSM code.
 */
export const JOB_NEVER_RAN = -1;
export const JOB_ABORTED = -2;

export interface SdmCopyContext {
  readonly store: MoveStore;
  readonly hosts: readonly PoolHost[];
  readonly jobTracker: (host: PoolHost) => HostJobTracker;
  /** The pool's SPM's name, if known (the host choice spares it). */
  readonly spmName: () => Promise<string | undefined>;
  readonly intervalMs: number;
  /** The move as last read or written. */
  readonly move: () => MoveRecord;
  readonly apply: (event: MoveEvent) => Promise<void>;
  readonly refresh: () => Promise<void>;
  /** Sleeps (less when the run is aborted). */
  readonly pause: (ms: number) => Promise<void>;
  /** Wakes a pause early when a cancel is asked in this process. */
  readonly onProgress?: (fraction: number) => void;
  readonly wantsProgress?: () => boolean;
  readonly onRetry?: (error: unknown) => void;
}

/** No host of the pool that may copy answers and is connected to it now: a passing trouble, waited out. */
export class NoCopyHostError extends Error {
  override name = 'NoCopyHostError';
  readonly code = 'NO_COPY_HOST';
  constructor(poolId: string, excluded: readonly string[]) {
    super(`No host connected to pool ${poolId} can copy now${excluded.length > 0 ? ` (excluded: ${excluded.join(', ')})` : ''}`);
  }
}

/** What the stored jobs say is next for the move's copy. */
export type SdmStep =
  | { readonly kind: 'follow'; readonly job: SdmJobRecord }
  | { readonly kind: 'start'; readonly volume: VolumeRecord; readonly attempt: number; readonly avoid: readonly string[] }
  | { readonly kind: 'copied' }
  | { readonly kind: 'failed'; readonly code: number; readonly message: string };

/**
 * The next step from the stored jobs (pure): volumes in chain order; a job in
 * flight is followed; a volume done goes on to the next; a failed one is
 * tried again while retries are left (its failed hosts avoided), else the
 * copy failed; a cancel starts nothing new.
 */
export function nextSdmStep(volumes: readonly VolumeRecord[], jobs: readonly SdmJobRecord[], copyRetries: number, cancelled: boolean): SdmStep {
  for (const volume of [...volumes].sort((a, b) => a.position - b.position)) {
    const tries = jobs.filter((job) => job.position === volume.position).sort((a, b) => a.attempt - b.attempt);
    const last = tries[tries.length - 1];
    if (last && last.state !== 'ended') return { kind: 'follow', job: last };
    if (last && last.endCode === 0) continue;
    if (cancelled) return { kind: 'failed', code: 0, message: 'cancelled' };
    const failures = tries.filter((job) => job.endCode !== JOB_NEVER_RAN);
    if (last && failures.length > copyRetries) {
      return { kind: 'failed', code: last.endCode ?? 0, message: `volume ${volume.volumeId}: ${last.endMessage ?? 'failed'}` };
    }
    return { kind: 'start', volume, attempt: last ? last.attempt + 1 : 0, avoid: [...new Set(failures.map((job) => job.host))] };
  }
  return { kind: 'copied' };
}

/**
 * The copy's fraction done when the volume at chain index `index` is
 * `percent` done, each volume counting for its share of the data (`sizes`,
 * base first: the source's allocated bytes, which is what a copy moves);
 * equal shares when the sizes are unknown or all zero.
 */
export function copyFraction(sizes: readonly number[], index: number, percent: number): number {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const share = (i: number): number => (total > 0 ? sizes[i]! / total : 1 / sizes.length);
  let done = 0;
  for (let i = 0; i < index; i++) done += share(i);
  return Math.min(1, done + share(index) * (Math.max(0, Math.min(100, percent)) / 100));
}

/** What the target volume says about a job whose host cannot tell. */
type EntityVerdict = 'running' | 'done' | 'fenced' | 'unknown';

export class SdmCopy {
  readonly #ctx: SdmCopyContext;
  #volumes: readonly VolumeRecord[] = [];
  /** Jobs a cancel has already been fenced for. */
  readonly #cancelFenced = new Set<string>();
  /** The source volumes' allocated bytes, base first, once read (progress weights them). */
  #sizes: number[] | undefined;
  #sizesRead: Promise<void> | undefined;

  constructor(ctx: SdmCopyContext) {
    this.#ctx = ctx;
  }

  /** Runs the copy from what the store holds until it applied sdm-copied or sdm-failed. */
  async run(): Promise<void> {
    const move = this.#ctx.move();
    const disk = await this.#ctx.store.getDisk(move.diskId);
    if (!disk) throw new Error(`Move ${move.moveId}: disk ${move.diskId} is not in the store`);
    // Base first: the order volumes are copied in, and the bar's weights.
    this.#volumes = [...disk.volumes].sort((a, b) => a.position - b.position);
    // Someone watches the bar: its weights are known before the first job reports.
    if (this.#ctx.wantsProgress?.()) await this.#sizesOnce();
    for (;;) {
      const current = this.#ctx.move();
      if (current.state !== 'copying') return;
      const jobs = await this.#ctx.store.listSdmJobs({ moveId: current.moveId });
      const step = nextSdmStep(this.#volumes, jobs, current.copyRetries, current.cancelRequested);
      switch (step.kind) {
        case 'follow':
          await this.#follow(step.job);
          break;
        case 'start':
          await this.#start(step.volume, step.attempt, step.avoid);
          break;
        case 'copied':
          return this.#ctx.apply({ type: 'sdm-copied' });
        case 'failed':
          return this.#ctx.apply({ type: 'sdm-failed', code: step.code, message: step.message });
      }
    }
  }

  #host(name: string): PoolHost | undefined {
    return this.#ctx.hosts.find((host) => host.name === name);
  }

  #endpoint(volumeId: string, domainId: string) {
    const move = this.#ctx.move();
    return { endpoint_type: 'div' as const, sd_id: domainId, img_id: move.diskId, vol_id: volumeId, prepared: false };
  }

  async #start(volume: VolumeRecord, attempt: number, avoid: readonly string[]): Promise<void> {
    const move = this.#ctx.move();
    const up = await connectedHosts(this.#ctx.hosts, move.poolId);
    const inFlight = await this.#ctx.store.listSdmJobs({ states: ['placeholder', 'running'] });
    const busy = new Map<string, number>();
    for (const job of inFlight) busy.set(job.host, (busy.get(job.host) ?? 0) + 1);
    const excluded = new Set(move.excludeHosts);
    const spm = await this.#ctx.spmName();
    // Another host than the ones that failed this volume; the same one only if no other is up.
    const host = leastBusy(up, new Set([...excluded, ...avoid]), busy, spm) ?? leastBusy(up, excluded, busy, spm);
    // No host up right now (VDSM restarting, a network cut): waited out like a missing SPM, never a failure of the copy.
    if (!host) throw new NoCopyHostError(move.poolId, [...excluded]);
    const target = this.#endpoint(volume.volumeId, move.dstDomainId);
    const generation = (await this.#volumeInfo(host, volume.volumeId)).generation;
    const jobId = randomUUID();
    await this.#ctx.apply({ type: 'job-placeholder', job: { jobId, volumeId: volume.volumeId, position: volume.position, host: host.name, generation, attempt } });
    failpoint('copy', 'before-job');
    try {
      await host.api.SDM.copy_data({
        job_id: jobId,
        source: this.#endpoint(volume.volumeId, move.srcDomainId),
        destination: { ...target, generation },
        copy_bitmaps: false,
      });
    } catch (error) {
      // A refusal made no job (313 not connected, 100 a bad endpoint): a definite failure of this try.
      if (error instanceof VdsmError && !(error instanceof VdsmNetworkError)) {
        return this.#ctx.apply({ type: 'job-ended', jobId, code: error.code, message: `SDM.copy_data refused on ${host.name}: ${error.message}` });
      }
      // No answer: the job may exist. The placeholder is followed like any job (Host.getJobs, then the volume).
      this.#ctx.onRetry?.(error);
      return;
    }
    await this.#ctx.apply({ type: 'job-submitted', jobId });
    failpoint('copy', 'job-submitted');
  }

  /** Follows a job in flight to its end as the host, or else the volume, tells it; records the end. */
  async #follow(stored: SdmJobRecord): Promise<void> {
    let job = stored;
    for (;;) {
      const end = await this.#watch(job);
      if (end !== 'refreshed' && job.state === 'placeholder' && end.kind !== 'missing' && end.kind !== 'unreachable') {
        // The host listed it: it did reach the host.
        await this.#ctx.apply({ type: 'job-submitted', jobId: job.jobId });
        job = { ...job, state: 'running' };
      }
      if (end === 'refreshed') return;
      switch (end.kind) {
        case 'done':
          return this.#ended(job, 0, `copied by ${job.host}`);
        case 'failed':
          return this.#ended(job, end.code, `${end.message} (on ${job.host})`);
        case 'aborted':
          return this.#ended(job, JOB_ABORTED, `job ${job.jobId} was aborted on ${job.host}`);
        case 'missing':
        case 'unreachable': {
          const verdict = await this.#resolveByEntity(job);
          if (verdict === 'done') return this.#ended(job, 0, `copied by ${job.host} (the target volume is at generation ${(job.generation + 1) % GENERATIONS})`);
          if (verdict === 'fenced') {
            // Fenced at G+3: whatever was queued can no longer write. A placeholder whose host never listed it never ran.
            const neverRan = job.state === 'placeholder';
            return this.#ended(
              job,
              neverRan ? JOB_NEVER_RAN : 911,
              `job ${job.jobId} on ${job.host} ${end.kind === 'missing' ? 'is no longer listed by its host' : 'cannot be asked (host unreachable)'}; the target volume was fenced at generation ${(job.generation + FENCING_GENERATION_DIFF) % GENERATIONS}${neverRan ? ' before it ran' : ''}`,
            );
          }
          if (verdict === 'running' && job.state === 'placeholder') {
            // Its lease is held: it reached the host.
            await this.#ctx.apply({ type: 'job-submitted', jobId: job.jobId });
            job = { ...job, state: 'running' };
          }
          // Still running (the lease is held) or nothing could tell: ask again an interval later.
          await this.#ctx.pause(this.#ctx.intervalMs);
          await this.#ctx.refresh();
          break;
        }
      }
    }
  }

  async #ended(job: SdmJobRecord, code: number, message: string): Promise<void> {
    await this.#ctx.apply({ type: 'job-ended', jobId: job.jobId, code, message });
    failpoint('copy', 'job-ended');
  }

  /**
   * Waits for the job's end on its host, waking each interval to pass on its
   * progress and to notice a cancel (fenced once: a job still queued then
   * fails its generation check; a running one copies on, and is waited for).
   */
  async #watch(job: SdmJobRecord): Promise<JobEnd | 'refreshed'> {
    const host = this.#host(job.host);
    if (!host) return { kind: 'unreachable', misses: 0, error: new Error(`host ${job.host} is not among the orchestrator's hosts`) };
    const tracker = this.#ctx.jobTracker(host);
    let end: JobEnd | undefined;
    const ended = tracker.watch(job.jobId).then((e) => (end = e));
    while (!end) {
      if (this.#ctx.move().cancelRequested && !this.#cancelFenced.has(job.jobId)) {
        this.#cancelFenced.add(job.jobId);
        void this.#fence(job).catch((error: unknown) => this.#ctx.onRetry?.(error));
      }
      this.#report(job, tracker.progress(job.jobId));
      await Promise.race([ended, this.#ctx.pause(this.#ctx.intervalMs)]);
      if (!end) await this.#ctx.refresh();
      if (this.#ctx.move().state !== 'copying') return 'refreshed';
    }
    if (end.kind === 'done') this.#report(job, 100);
    return end;
  }

  #report(job: SdmJobRecord, percent: number | undefined): void {
    if (percent === undefined || !this.#ctx.wantsProgress?.()) return;
    void this.#sizesOnce();
    const index = this.#volumes.findIndex((volume) => volume.position === job.position);
    this.#ctx.onProgress?.(copyFraction(this.#sizes ?? this.#volumes.map(() => 1), Math.max(0, index), percent));
  }

  /** Reads the sizes the first time it is called (later calls share that read). */
  #sizesOnce(): Promise<void> {
    this.#sizesRead ??= this.#readSizes(this.#volumes);
    return this.#sizesRead;
  }

  /** The source volumes' allocated bytes (Volume.getInfo truesize on any host that answers); equal shares meanwhile or if unreadable. */
  async #readSizes(chain: readonly VolumeRecord[]): Promise<void> {
    const move = this.#ctx.move();
    for (const host of this.#ctx.hosts) {
      try {
        const infos = await Promise.all(
          chain.map((volume) => host.api.Volume.getInfo({ volumeID: volume.volumeId, imageID: move.diskId, storagepoolID: move.poolId, storagedomainID: move.srcDomainId })),
        );
        this.#sizes = infos.map((info) => Number(info.truesize) || 0);
        return;
      } catch {
        // The next host.
      }
    }
  }

  /** The target volume on any up host that answers (the job's own host last). */
  async #targetInfo(job: SdmJobRecord): Promise<VolumeInfo | undefined> {
    const others = this.#ctx.hosts.filter((host) => host.name !== job.host);
    const own = this.#host(job.host);
    for (const host of own ? [...others, own] : others) {
      try {
        return await this.#volumeInfo(host, job.volumeId);
      } catch {
        // The next host.
      }
    }
    return undefined;
  }

  #volumeInfo(host: PoolHost, volumeId: string): Promise<VolumeInfo> {
    const move = this.#ctx.move();
    return host.api.Volume.getInfo({ volumeID: volumeId, imageID: move.diskId, storagepoolID: move.poolId, storagedomainID: move.dstDomainId });
  }

  #verdict(job: SdmJobRecord, info: VolumeInfo | undefined): EntityVerdict {
    if (!info) return 'unknown';
    if ((info.lease?.owners?.length ?? 0) > 0) return 'running';
    if (info.generation === (job.generation + 1) % GENERATIONS) return 'done';
    if (info.generation === (job.generation + FENCING_GENERATION_DIFF) % GENERATIONS) return 'fenced';
    return 'unknown';
  }

  /** s5.3 step 4: the volume says; if it cannot, fence it and ask it again. */
  async #resolveByEntity(job: SdmJobRecord): Promise<EntityVerdict> {
    const first = this.#verdict(job, await this.#targetInfo(job));
    if (first !== 'unknown') return first;
    await this.#fence(job);
    return this.#verdict(job, await this.#targetInfo(job));
  }

  /**
   * `SDM.update_volume` setting the target's generation to (G+3)%1000, on an
   * up host other than the job's when there is one, its own job followed to
   * its end (a vanished fence counts as failed: the volume is asked after).
   */
  async #fence(job: SdmJobRecord): Promise<void> {
    const move = this.#ctx.move();
    const up = await connectedHosts(this.#ctx.hosts, move.poolId);
    const host = up.find((h) => h.name !== job.host) ?? up[0];
    if (!host) return;
    const fenceId = randomUUID();
    try {
      await host.api.SDM.update_volume({
        job_id: fenceId,
        vol_info: { ...this.#endpoint(job.volumeId, move.dstDomainId), generation: job.generation },
        vol_attr: { generation: (job.generation + FENCING_GENERATION_DIFF) % GENERATIONS },
      });
    } catch (error) {
      // Refused (the generation moved on, ...) or unanswered: the volume is asked again either way.
      this.#ctx.onRetry?.(error);
      return;
    }
    await this.#ctx.jobTracker(host).watch(fenceId);
  }
}
