/**
 * Domain conditions of the fault engine (issue 4): `{domainFull: true}` and
 * `{domainUnreachable: true}`. A rule names its domain with `match.domain`
 * (and may narrow to one host with `match.host`).
 *
 * What each condition does, as VDSM behaves on such a domain:
 * - domainFull: the domain reports 0 bytes free (StorageDomain.getStats,
 *   the copier's `spaceLeft`), so a copy onto a file domain fails as a full
 *   NFS export fails it (261, partial target rolled back), and a block
 *   domain's VG has no free extent, so creating a volume fails with 504;
 * - domainUnreachable: `sdCache.produce` cannot find it, so every verb's
 *   domain check answers 358, and the domain getters answer 379
 *   `StorageDomainAccessError` (vdsm-wire.md §5: unreadable metadata).
 *
 * A condition is decided once per OPERATION (a JSON-RPC call, or a task's
 * job; faults/operation.ts): the first check an operation makes of the
 * domain counts one match (`after`), draws `probability`, and when the
 * condition holds counts one firing (`times`); every later check of the
 * same operation gets the same answer without counting. So
 * `{domainFull, after: 1, times: 1}` spares the first operation that looks
 * at the domain, fills the domain for the second (a getStats, a copy), and
 * is then spent.
 */
import type { FaultEngine, FaultPoint } from './engine.js';
import { currentOperation } from './operation.js';
import type { ActionKind } from './rule.js';

/** The domain condition kinds. */
export const DOMAIN_CONDITIONS = ['domainFull', 'domainUnreachable'] as const satisfies readonly ActionKind[];
export type DomainCondition = (typeof DOMAIN_CONDITIONS)[number];

/** What the checks need: the process's engine (absent: no faults) and the serving host. */
export interface DomainFaultSource {
  readonly faults?: FaultEngine | undefined;
  readonly hostId: number;
}

function pointOf(source: DomainFaultSource, sdUUID: string): FaultPoint {
  const operation = currentOperation()?.id;
  return { layer: 'domain', host: source.hostId, domain: sdUUID, ...(operation === undefined ? {} : { operation }) };
}

/**
 * True when `condition` holds for `sdUUID` in the current operation, as seen
 * by the serving host (see the module comment for what is counted).
 */
export function domainConditionHolds(source: DomainFaultSource, sdUUID: string, condition: DomainCondition): boolean {
  const engine = source.faults;
  if (engine === undefined || engine.empty) return false;
  return engine.fire(pointOf(source, sdUUID), [condition]) !== undefined;
}
