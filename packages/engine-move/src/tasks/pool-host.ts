/**
 * A host of a pool as the orchestrator reaches it: a name for logs and status
 * ("host:port"), a caller (a reconnecting VdsmClient in production) and,
 * optionally, its events.
 */
import { createVdsmApi } from '@vdsm-kit/client';
import type { EventSource, RpcCaller, VdsmApi } from '@vdsm-kit/client';

export interface PoolHost {
  readonly name: string;
  readonly caller: RpcCaller;
  readonly api: VdsmApi;
  /** The host's VDSM events (a VdsmClient), when its connection delivers them: SDM job ends come sooner. */
  readonly events?: EventSource;
}

export function poolHost(name: string, caller: RpcCaller, events?: EventSource): PoolHost {
  return { name, caller, api: createVdsmApi(caller), ...(events ? { events } : {}) };
}
