/**
 * What real VDSM says, word for word, as observed and recorded in
 * vdsm-wire.md. Deliberately NOT derived from the kit's error table: an
 * end-to-end test that built its expectation with the same code as the fake
 * could not catch a wrong table. Keep each fact here once.
 */

/** -32601 for an unknown method (vdsm-wire.md §3.3, observed). */
export function methodNotFoundMessage(method: string): string {
  return `The method does not exist or is not available: {'method': '${method}'}`;
}

/** The engine's code for a call that got no answer: VDS_NETWORK_ERROR (engine-move.md §3.4). */
export const NETWORK_ERROR_CODE = 5022;
