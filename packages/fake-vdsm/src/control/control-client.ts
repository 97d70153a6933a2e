/**
 * `ControlClient`: the control API of a running fake (in this process or a
 * `fake-vdsm serve` child) over HTTP, with global `fetch`. It implements the
 * same `ControlApi` as `startFakeVdsm()`'s object, and throws the same
 * `ControlError` (code and message from the server's error body).
 */
import { ControlError } from './control-api.js';
import type {
  CallPage,
  CallQuery,
  ControlApi,
  ControlErrorCode,
  DomainView,
  FaultRuleJson,
  FiringJson,
  HostView,
  ImageView,
  InvariantReport,
  JobView,
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

  listJobs(hostId?: number): Promise<JobView[]> {
    return this.#request('GET', hostId === undefined ? '/jobs' : `/jobs?host=${encodeURIComponent(String(hostId))}`);
  }

  abortJob(hostId: number, jobId: string): Promise<JobView> {
    return this.#request('POST', `/jobs/${encodeURIComponent(String(hostId))}/${encodeURIComponent(jobId)}/abort`);
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

  async crashHost(hostId: number): Promise<void> {
    await this.#request('POST', `/hosts/${encodeURIComponent(String(hostId))}/crash`);
  }

  async restartHost(hostId: number): Promise<void> {
    await this.#request('POST', `/hosts/${encodeURIComponent(String(hostId))}/restart`);
  }

  async restart(): Promise<void> {
    await this.#request('POST', '/restart');
  }

  listCalls(query: CallQuery = {}): Promise<CallPage> {
    const search = new URLSearchParams();
    if (query.method !== undefined) search.set('method', query.method);
    if (query.since !== undefined) search.set('since', String(query.since));
    const text = search.toString();
    return this.#request('GET', text === '' ? '/calls' : `/calls?${text}`);
  }

  async clearCalls(): Promise<number> {
    return (await this.#request<{ removed: number }>('DELETE', '/calls')).removed;
  }

  /** The Prometheus text (not JSON, unlike every other answer). */
  async metrics(): Promise<string> {
    const response = await this.#fetch('GET', '/metrics');
    const text = await response.text();
    if (!response.ok) throw errorOf('GET', '/metrics', response.status, parseJson(text));
    return text;
  }

  /** One request; a non-2xx answer throws the server's ControlError. */
  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.#fetch(method, path, body);
    const text = await response.text();
    const parsed = parseJson(text);
    if (parsed === NOT_JSON) throw new ControlError('internal', `${method} ${path}: the answer (${response.status}) is not JSON`);
    if (!response.ok) throw errorOf(method, path, response.status, parsed);
    return parsed as T;
  }

  #fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    return fetch(`${this.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
  }
}

const NOT_JSON = Symbol('not JSON');

/** The parsed answer; undefined for an empty one, NOT_JSON when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/** The server's ControlError from its error body (`{"error": {code, message}}`), or one naming the status. */
function errorOf(method: string, path: string, status: number, parsed: unknown): ControlError {
  const error = (parsed as { error?: { code?: ControlErrorCode; message?: string } } | undefined)?.error;
  return new ControlError(error?.code ?? 'internal', error?.message ?? `${method} ${path}: HTTP ${status}`);
}

function volumePath(domainId: string, imageId: string, volumeId: string): string {
  return `/volumes/${[domainId, imageId, volumeId].map(encodeURIComponent).join('/')}`;
}
