/**
 * VDSM's void verbs answer `true` (its bridge turns `None` into `true`,
 * vdsm-wire.md §3.2); these wrap a storage operation that returns nothing
 * into a handler with that answer.
 */

/** `true` once `work` returned. */
export function voidResult(work: () => void): true {
  work();
  return true;
}

/** `true` once `work` resolved. */
export async function voidResultAsync(work: () => Promise<void>): Promise<true> {
  await work();
  return true;
}
