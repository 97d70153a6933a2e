/**
 * Local param validation: a call with bad params fails before anything is
 * sent, with the verb's name and every problem found. VDSM itself would often
 * accept such a call and misbehave (unknown names are ignored, a missing param
 * shifts the positional ones), so catching it here is the point.
 */
import { VdsmKitError } from '../errors.js';
import { VERBS } from './verbs/index.js';
import type { ParamsOf, VdsmMethod, WireParamsOf } from './verbs/index.js';

/** One problem with a param (zod's issues have this shape). */
export interface ParamIssue {
  /** Where: `['volumeList', 2]`; empty for the params object itself (e.g. an unknown key). */
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Params that do not fit the verb's schema; nothing was sent. */
export class InvalidParamsError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_INVALID_PARAMS';
  override name = 'InvalidParamsError';
  /** The verb (`Image.move`) or helper (`copyImage`) that refused the params. */
  readonly method: string;
  /** Every problem found. */
  readonly issues: readonly ParamIssue[];

  constructor(method: string, issues: readonly ParamIssue[]) {
    super(`Invalid params for ${method}: ${issues.map(formatIssue).join('; ')}`);
    this.method = method;
    this.issues = issues;
  }
}

function formatIssue(issue: ParamIssue): string {
  const where = issue.path.length === 0 ? '(params)' : issue.path.map(String).join('.');
  return `${where}: ${issue.message}`;
}

/**
 * Validates `params` for `method` and returns the wire params: every param in
 * schema order, defaults filled in, values converted to the wire types. Throws
 * `InvalidParamsError` on bad params and a RangeError for a method the typed
 * API does not know. `undefined` params count as `{}`.
 */
export function parseVerbParams<M extends VdsmMethod>(method: M, params: ParamsOf<M> | undefined): WireParamsOf<M> {
  const verb = Object.hasOwn(VERBS, method) ? VERBS[method] : undefined;
  if (verb === undefined) throw new RangeError(`not a method of the typed VDSM API: ${String(method)}`);
  const parsed = verb.params.safeParse(params ?? {});
  if (!parsed.success) throw new InvalidParamsError(method, parsed.error.issues);
  return parsed.data as WireParamsOf<M>;
}
