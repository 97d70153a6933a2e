/**
 * A host of a pool as the orchestrator reaches it: a name for logs and status
 * ("host:port") and a caller (a reconnecting VdsmClient in production).
 */
import { createVdsmApi } from '@vdsm-kit/client';
import type { RpcCaller, VdsmApi } from '@vdsm-kit/client';

export interface PoolHost {
  readonly name: string;
  readonly caller: RpcCaller;
  readonly api: VdsmApi;
}

export function poolHost(name: string, caller: RpcCaller): PoolHost {
  return { name, caller, api: createVdsmApi(caller) };
}
