/**
 * The control operations run in the fake's own process: the implementation
 * behind both `startFakeVdsm()`'s object and the HTTP server.
 */
import { ManualClock } from '@vdsm-kit/client/clock';
import type { Clock } from '@vdsm-kit/client/clock';
import { FaultRuleError } from '../faults/rule.js';
import type { FaultEngine } from '../faults/engine.js';
import type { StorageHost } from '../host/storage-host.js';
import type { FixtureInput } from '../model/fixture.js';
import type { CallLog } from './call-log.js';
import { ControlError } from './control-api.js';
import type { CallPage, CallQuery, ControlApi, FaultRuleJson, FiringJson, ResetRequest, ResetResult, WriteDataRequest } from './control-api.js';
import { getVolumeView, listDomainViews, listHostViews, listImageViews, listLockViews, listTaskViews, listVolumeViews, requireUuid } from './inspect.js';
import { checkInvariants } from './invariants.js';
import { abortJobView, listJobViews } from './jobs.js';
import type { FakeMetrics } from './metrics.js';
import { resetState } from './reset.js';
import { volumeChecksum, writeVolumeData } from './volume-data.js';

/** What the in-process control works on; `storage` is a getter because a restart opens a new one. */
export interface ControlTarget {
  /** The storage side now (throws ControlError 'unavailable' while the fake is crashed). */
  storage(): StorageHost;
  /** The process's fault engine (it outlives crash/restart, so it is not reached through `storage`). */
  readonly faults: FaultEngine;
  /** The fixture the fake started from (what a reset restores). */
  readonly fixture: FixtureInput;
  /** The storage clock (advanced by `advanceClock` when it is a ManualClock). */
  readonly clock: Clock;
  /** The process's call log and metrics (they outlive crash/restart, as the fault engine does). */
  readonly calls: CallLog;
  readonly metrics: FakeMetrics;
  /** The fake's crash and restart (index.ts owns the hosts they stop and start). */
  crash(): Promise<void>;
  restart(): Promise<void>;
  /** One host's crash and restart (ControlApi.crashHost). */
  crashHost(hostId: number): Promise<void>;
  restartHost(hostId: number): Promise<void>;
  /** False while host `hostId` is crashed alone. */
  hostUp(hostId: number): boolean;
}

/** `ControlApi` over a running fake in this process. */
export class InProcessControl implements ControlApi {
  readonly #target: ControlTarget;

  constructor(target: ControlTarget) {
    this.#target = target;
  }

  get #storage(): StorageHost {
    return this.#target.storage();
  }

  async health(): Promise<{ ok: true }> {
    return { ok: true };
  }

  async addFault(rule: unknown): Promise<FaultRuleJson> {
    try {
      return this.#target.faults.add(rule) as FaultRuleJson;
    } catch (error) {
      if (error instanceof FaultRuleError) throw new ControlError('bad_request', error.message);
      // The engine's only other refusal: an id already held.
      throw new ControlError('conflict', error instanceof Error ? error.message : String(error));
    }
  }

  async listFaults(): Promise<FaultRuleJson[]> {
    return this.#target.faults.list() as FaultRuleJson[];
  }

  async removeFault(id: string): Promise<boolean> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) throw new ControlError('bad_request', 'a fault rule id is a non-empty string');
    return this.#target.faults.remove(id);
  }

  async clearFaults(): Promise<number> {
    const faults = this.#target.faults;
    const count = faults.list().length;
    faults.clear();
    return count;
  }

  async faultLog(): Promise<FiringJson[]> {
    return this.#target.faults.log() as unknown as FiringJson[];
  }

  async reset(request: ResetRequest = {}): Promise<ResetResult> {
    const storage = this.#storage;
    if (request.pool !== undefined) {
      const done = await resetState(storage, this.#target.fixture, requireUuid('pool', request.pool));
      return { scope: 'pool', faultsCleared: 0, ...done };
    }
    const faults = this.#target.faults;
    const faultsCleared = faults.list().length;
    // Rules, log and PRNG start over from the same seed: a reset test replays like a fresh fake.
    faults.reset();
    const done = await resetState(storage, this.#target.fixture);
    return { scope: 'all', faultsCleared, ...done };
  }

  async listHosts() {
    return listHostViews(this.#storage, (hostId) => this.#target.hostUp(hostId));
  }

  async listDomains() {
    return listDomainViews(this.#storage);
  }

  async listImages(domainId: string) {
    return listImageViews(this.#storage, domainId);
  }

  async listVolumes(domainId: string, imageId?: string) {
    return listVolumeViews(this.#storage, domainId, imageId);
  }

  async getVolume(domainId: string, imageId: string, volumeId: string, options: { checksum?: boolean } = {}) {
    return getVolumeView(this.#storage, domainId, imageId, volumeId, options.checksum === true);
  }

  async listTasks() {
    return listTaskViews(this.#storage);
  }

  async listLocks() {
    return listLockViews(this.#storage);
  }

  async listJobs(hostId?: number) {
    return listJobViews(this.#storage, hostId);
  }

  async abortJob(hostId: number, jobId: string) {
    return abortJobView(this.#storage, hostId, jobId);
  }

  async writeData(domainId: string, imageId: string, volumeId: string, request: WriteDataRequest) {
    return writeVolumeData(this.#storage, domainId, imageId, volumeId, request);
  }

  async checksum(domainId: string, imageId: string, volumeId: string) {
    return volumeChecksum(this.#storage, domainId, imageId, volumeId);
  }

  async advanceClock(ms: number): Promise<{ now: number }> {
    const clock = this.#target.clock;
    if (!(clock instanceof ManualClock)) throw new ControlError('conflict', 'the fake does not run on a manual clock');
    if (!Number.isFinite(ms) || ms < 0) throw new ControlError('bad_request', 'ms must be a number of milliseconds >= 0');
    // advanceAsync lets the promise callbacks of each timer run, so a job waiting on the clock moves on.
    await clock.advanceAsync(ms);
    return { now: clock.now() };
  }

  async invariants() {
    return checkInvariants(this.#storage);
  }

  crash(): Promise<void> {
    return this.#target.crash();
  }

  restart(): Promise<void> {
    return this.#target.restart();
  }

  crashHost(hostId: number): Promise<void> {
    return this.#target.crashHost(hostId);
  }

  restartHost(hostId: number): Promise<void> {
    return this.#target.restartHost(hostId);
  }

  async listCalls(query: CallQuery = {}): Promise<CallPage> {
    const { method, since } = query;
    if (method !== undefined && (typeof method !== 'string' || method.length === 0 || method.length > 200)) {
      throw new ControlError('bad_request', 'method is a non-empty method name, e.g. Image.move');
    }
    if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) {
      throw new ControlError('bad_request', 'since is a call seq, an integer >= 0 (the next of the last page)');
    }
    return this.#target.calls.list({ ...(method === undefined ? {} : { method }), ...(since === undefined ? {} : { since }) });
  }

  async clearCalls(): Promise<number> {
    return this.#target.calls.clear();
  }

  metrics(): Promise<string> {
    return this.#target.metrics.text();
  }
}
