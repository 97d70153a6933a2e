/**
 * `ControlClient`: the control API of a running fake (in this process or a
 * `fake-vdsm serve` child) over HTTP, with global `fetch`. It implements the
 * same `ControlApi` as `startFakeVdsm()`'s object, and throws the same
 * `ControlError` (code and message from the server's error body).
 */
import { ControlError } from './control-api.js';
import type {
  ControlApi,
  ControlErrorCode,
  DomainView,
  FaultRuleJson,
  FiringJson,
  HostView,
  ImageView,
  InvariantReport,
  LockView,
  ResetRequest,
  ResetResult,
  TaskView,
  VolumeChecksum,
  VolumeView,
  WriteDataRequest,
  WriteDataResult,
} from './control-api.js';

/** Options of a `ControlClient`. */
export interface ControlClientOptions {
  /** The bearer token the server was started with. */
  readonly token?: string;
  /** Gives up on a request after this long (default 30 s). */
  readonly timeoutMs?: number;
}

/** A client of the control API at `url` (the `control` of the ready line). */
export class ControlClient implements ControlApi {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;

  constructor(url: string, options: ControlClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  health(): Promise<{ ok: true }> {
    return this.#request('GET', '/health');
  }

  addFault(rule: unknown): Promise<FaultRuleJson> {
    return this.#request('POST', '/faults', rule);
  }

  listFaults(): Promise<FaultRuleJson[]> {
    return this.#request('GET', '/faults');
  }

  async removeFault(id: string): Promise<boolean> {
    try {
      await this.#request('DELETE', `/faults/${encodeURIComponent(id)}`);
      return true;
    } catch (error) {
      if (error instanceof ControlError && error.code === 'not_found') return false;
      throw error;
    }
  }

  async clearFaults(): Promise<number> {
    return (await this.#request<{ removed: number }>('DELETE', '/faults')).removed;
  }

  faultLog(): Promise<FiringJson[]> {
    return this.#request('GET', '/faults/log');
  }

  reset(request: ResetRequest = {}): Promise<ResetResult> {
    return this.#request('POST', '/reset', request);
  }

  listHosts(): Promise<HostView[]> {
    return this.#request('GET', '/hosts');
  }

  listDomains(): Promise<DomainView[]> {
    return this.#request('GET', '/domains');
  }

  listImages(domainId: string): Promise<ImageView[]> {
    return this.#request('GET', `/images?${new URLSearchParams({ domain: domainId }).toString()}`);
  }

  listVolumes(domainId: string, imageId?: string): Promise<VolumeView[]> {
    const query = new URLSearchParams({ domain: domainId });
    if (imageId !== undefined) query.set('image', imageId);
    return this.#request('GET', `/volumes?${query.toString()}`);
  }

  getVolume(domainId: string, imageId: string, volumeId: string, options: { checksum?: boolean } = {}): Promise<VolumeView> {
    return this.#request('GET', `${volumePath(domainId, imageId, volumeId)}${options.checksum === true ? '?checksum=1' : ''}`);
  }

  listTasks(): Promise<TaskView[]> {
    return this.#request('GET', '/tasks');
  }

  listLocks(): Promise<LockView[]> {
    return this.#request('GET', '/locks');
  }

  writeData(domainId: string, imageId: string, volumeId: string, request: WriteDataRequest): Promise<WriteDataResult> {
    return this.#request('POST', `${volumePath(domainId, imageId, volumeId)}/data`, request);
  }

  checksum(domainId: string, imageId: string, volumeId: string): Promise<VolumeChecksum> {
    return this.#request('GET', `${volumePath(domainId, imageId, volumeId)}/checksum`);
  }

  advanceClock(ms: number): Promise<{ now: number }> {
    return this.#request('POST', '/clock/advance', { ms });
  }

  invariants(): Promise<InvariantReport> {
    return this.#request('GET', '/invariants');
  }

  async crash(): Promise<void> {
    await this.#request('POST', '/crash');
  }

  async restart(): Promise<void> {
    await this.#request('POST', '/restart');
  }

  /** One request; a non-2xx answer throws the server's ControlError. */
  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ControlError('internal', `${method} ${path}: the answer (${response.status}) is not JSON`);
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: ControlErrorCode; message?: string } } | undefined)?.error;
      throw new ControlError(error?.code ?? 'internal', error?.message ?? `${method} ${path}: HTTP ${response.status}`);
    }
    return parsed as T;
  }
}

function volumePath(domainId: string, imageId: string, volumeId: string): string {
  return `/volumes/${[domainId, imageId, volumeId].map(encodeURIComponent).join('/')}`;
}
