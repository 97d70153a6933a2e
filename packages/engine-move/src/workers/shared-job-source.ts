/**
 * The job source of a host's HostJobTracker in a worker (tasks/job-status-source.ts):
 * the holder of the pool's leader lease makes the round's one
 * `Host.getJobs` for every instance's jobs in flight on the host (the
 * store's job rows, besides its own) and publishes it under its lease, on
 * the pool's topic `jobs/<host>`; the others read the last published round
 * instead of asking the host. A host the poller cannot ask is published as
 * such, so every instance counts the miss; a round already read counts as
 * none, so a poller that died makes the others wait, not miss their jobs.
 */
import { systemClock } from '@vdsm-kit/client';
import type { Clock, HostJobInfo } from '@vdsm-kit/client';
import type { MoveLeaseStore } from '../store/leases.js';
import type { MoveStore } from '../store/move-store.js';
import type { JobPoll, JobRound, JobStatusSource } from '../tasks/job-status-source.js';
import type { PoolLeaseKeeper } from './pool-lease-keeper.js';
import { PublishedRounds } from './published-rounds.js';

/** What the poller publishes: the host's jobs, or why it could not ask. */
type PublishedBody = { readonly jobs: Record<string, HostJobInfo> } | { readonly unreachable: string };

function isPublishedBody(body: unknown): body is PublishedBody {
  if (typeof body !== 'object' || body === null) return false;
  const { jobs, unreachable } = body as Record<string, unknown>;
  return (typeof jobs === 'object' && jobs !== null) || typeof unreachable === 'string';
}

/** The pool topic a host's jobs are published on. */
export function jobsTopic(hostName: string): string {
  return `jobs/${hostName}`;
}

/** The host could not be asked by the instance that polls for the pool. */
export class HostUnreachableError extends Error {
  override name = 'HostUnreachableError';
  readonly code = 'HOST_UNREACHABLE';
}

export interface SharedJobSourceOptions {
  readonly store: MoveLeaseStore & Pick<MoveStore, 'listSdmJobs'>;
  readonly keeper: PoolLeaseKeeper;
  readonly hostName: string;
  /** True while any instance has jobs in flight on the host (the poller polls for them all). */
  readonly hostBusy: () => boolean;
  /** This instance asked the host (for metrics). */
  readonly onPoll?: () => void;
  readonly clock?: Clock;
  readonly wallNow?: () => number;
}

export class SharedJobSource implements JobStatusSource {
  readonly #options: SharedJobSourceOptions;
  readonly #rounds: PublishedRounds<PublishedBody>;
  readonly #clock: Clock;

  constructor(options: SharedJobSourceOptions) {
    this.#options = options;
    this.#rounds = new PublishedRounds({ ...options, topic: jobsTopic(options.hostName) }, isPublishedBody);
    this.#clock = options.clock ?? systemClock;
  }

  keepPolling(): boolean {
    return this.#options.keeper.current() !== undefined && this.#options.hostBusy();
  }

  async next(poll: JobPoll, watched: readonly string[]): Promise<JobRound | undefined> {
    const { store, keeper, hostName } = this.#options;
    const lease = keeper.current();
    if (lease) {
      // The round answers for the jobs known when the store was read: one watched later may not be in it.
      const listedAt = this.#clock.now();
      const inFlight = await store.listSdmJobs({ states: ['placeholder', 'running'] });
      const ids = [...new Set([...watched, ...inFlight.filter((job) => job.host === hostName).map((job) => job.jobId)])];
      // VDSM reads an empty job_ids as "every job": with nothing to ask for, nothing is asked.
      if (ids.length === 0) return undefined;
      let round: JobRound;
      this.#options.onPoll?.();
      try {
        const polled = await poll(ids);
        round = { ...polled, polledAt: Math.min(polled.polledAt, listedAt) };
      } catch (error) {
        await this.#rounds.publish(lease, this.#clock.now(), { unreachable: error instanceof Error ? error.message : String(error) });
        throw error;
      }
      await this.#rounds.publish(lease, round.polledAt, { jobs: { ...round.jobs } });
      return round;
    }
    const published = await this.#rounds.readNew();
    if (!published) return undefined;
    if ('unreachable' in published.body) throw new HostUnreachableError(`${hostName} cannot be asked by the pool's poller: ${published.body.unreachable}`);
    return { jobs: published.body.jobs, polledAt: published.polledAt, polledHere: false };
  }
}
