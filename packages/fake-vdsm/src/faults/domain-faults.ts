/**
 * Domain conditions of the fault engine (issue 4): `{domainFull: true}` and
 * `{domainUnreachable: true}`, in force while their rule exists and has
 * firings left (`FaultEngine.active`). A rule names its domain with
 * `match.domain` (and may narrow to one host with `match.host`).
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
 * A condition that makes an operation FAIL is fired (counted against
 * `times`, logged); one that only changes what is read (the free space a
 * getter reports) is looked up without counting.
 */
import type { FaultEngine, FaultPoint } from './engine.js';
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
  return { layer: 'domain', host: source.hostId, domain: sdUUID };
}

/** True while `condition` holds for `sdUUID` as seen by the serving host (nothing counted). */
export function domainConditionActive(source: DomainFaultSource, sdUUID: string, condition: DomainCondition): boolean {
  const engine = source.faults;
  if (engine === undefined || engine.empty) return false;
  return engine.active(pointOf(source, sdUUID), [condition]) !== undefined;
}

/**
 * True when `condition` holds for `sdUUID` and makes the current operation
 * fail: the firing is counted and logged. False when no rule is in force
 * (or its `after` / `probability` spared this operation).
 */
export function domainConditionFires(source: DomainFaultSource, sdUUID: string, condition: DomainCondition): boolean {
  const engine = source.faults;
  if (engine === undefined || engine.empty) return false;
  return engine.fire(pointOf(source, sdUUID), [condition]) !== undefined;
}
