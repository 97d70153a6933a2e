/**
 * The RPC-layer faults, applied by server/rpc-dispatcher.ts around a verb's
 * handler once the request is parsed and its params checked:
 * - `{error: CODE, message?}`: the verb does NOT run; the answer is that code
 *   with VDSM's message for it (or the rule's message);
 * - `{delayMs: N}` / `{answerAfterMs: N}`: the verb runs at once, the answer
 *   leaves N ms (on the fake's clock) after the request arrived, or when the
 *   verb ends if that is later. `answerAfterMs` is the same action under the
 *   name that says what a test usually wants: an answer after the client's
 *   timeout while the verb's effect (a task) already exists;
 * - `{noAnswer: true}`: the verb runs, its answer is never sent (the client
 *   times out with 5022; the task it started exists);
 * - `{startAfterMs: N}`: the verb starts N ms after the request arrived and is
 *   answered when it ends: VDSM's executor busy, or the verb waiting for a
 *   lock. A client whose timeout is shorter gives up while the verb has not
 *   made its task yet, which appears later (a caller that looks once and
 *   sends again makes two).
 */
import { pyTuple, VdsmErrorCode, vdsmErrorInfo, vdsmMessage } from '@vdsm-kit/client/api';
import type { FaultEngine, FaultPoint, FiredFault } from './engine.js';
import { RPC_ACTIONS } from './rule.js';
import type { ActionOf } from './rule.js';

/** What the dispatcher does with a call a rule fired on. */
export type RpcFault =
  | { readonly kind: 'error'; readonly code: number; readonly message: string; readonly fired: FiredFault }
  | { readonly kind: 'delay'; readonly ms: number; readonly fired: FiredFault }
  | { readonly kind: 'startDelay'; readonly ms: number; readonly fired: FiredFault }
  | { readonly kind: 'noAnswer'; readonly fired: FiredFault };

/**
 * The RPC fault for one call, if a rule fires on it (the firing is counted
 * and logged). Cheap when the engine holds no rule: the hot path's case.
 */
export function rpcFaultFor(
  engine: FaultEngine,
  hostId: number,
  method: string,
  params: Readonly<Record<string, unknown>>,
): RpcFault | undefined {
  if (engine.empty) return undefined;
  const fired = engine.fire(rpcPoint(hostId, method, params), RPC_ACTIONS);
  if (fired === undefined) return undefined;
  const { action } = fired;
  switch (fired.kind) {
    case 'noAnswer':
      return { kind: 'noAnswer', fired };
    case 'delayMs':
      return { kind: 'delay', ms: (action as ActionOf<'delayMs'>).delayMs, fired };
    case 'answerAfterMs':
      return { kind: 'delay', ms: (action as ActionOf<'answerAfterMs'>).answerAfterMs, fired };
    case 'startAfterMs':
      return { kind: 'startDelay', ms: (action as ActionOf<'startAfterMs'>).startAfterMs, fired };
    default: {
      // 'error', the last of RPC_ACTIONS.
      const { error, message } = action as ActionOf<'error'>;
      return { kind: 'error', code: error, message: message ?? faultMessage(error), fired };
    }
  }
}

/** The engine's point for the call `method(params)` served by host `hostId`. */
export function rpcPoint(hostId: number, method: string, params: Readonly<Record<string, unknown>>): FaultPoint {
  return { layer: 'rpc', host: hostId, method, params };
}

/**
 * VDSM's message for `code` as VDSM words that error raised without
 * arguments: a `GeneralException` (codes 100 and up, the storage and task
 * errors) is `str(e)`, `<class message>: ()` (851 `Resource timeout: ()`);
 * the response codes below 100 and the engine's 5022 are their message
 * alone. A code outside VDSM's table gets a `GeneralException` naming it.
 */
export function faultMessage(code: number): string {
  if (vdsmErrorInfo(code) === undefined) return vdsmMessage(VdsmErrorCode.GeneralException, pyTuple(`fault injected with error code ${code}`));
  return isGeneralException(code) ? vdsmMessage(code, pyTuple()) : vdsmMessage(code);
}

/** True for the codes of VDSM's `GeneralException` family (lib/vdsm/storage/exception.py, 100 and up). */
function isGeneralException(code: number): boolean {
  return code >= VdsmErrorCode.GeneralException && code !== VdsmErrorCode.VDS_NETWORK_ERROR;
}

/**
 * Waits until `ms` after `startedAt` on the engine's clock (the answer of a
 * delayed call, the start of a late one); returns at once when that time has passed.
 */
export function waitUntilAnswer(engine: FaultEngine, startedAt: number, ms: number): Promise<void> {
  const left = startedAt + ms - engine.clock.now();
  if (left <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    // Unref'd: a late answer nobody will read (the fake is closing) must not hold the process open for hours.
    engine.clock.setTimeout(resolve, left).unref?.();
  });
}
