/**
 * What `vdsm-client` prints: the result as JSON the way VDSM's tool prints it
 * (`json.dumps(result, indent=4, sort_keys=True)`), and an error as one line
 * `{"code": ..., "message": "..."}` in Python's JSON spacing.
 */
import { VdsmError, VdsmNetworkError } from '../api/errors.js';

/** An error as the CLI reports it. */
export interface CliErrorReport {
  /** VDSM's numeric code; for a failure of our own layers or of the system, its string code. */
  readonly code: number | string;
  readonly message: string;
}

/**
 * The result as vdsm-client prints it: 4-space indent, object keys sorted
 * (VDSM's tool sorts them; it also makes outputs diffable).
 */
export function formatResult(result: unknown): string {
  // `undefined` has no JSON form; a void verb answers `true`, so this only
  // guards against a peer that sent a response without a result.
  return JSON.stringify(sortKeys(result === undefined ? null : result), null, 4);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/**
 * The code and message to report for `error`:
 * - a `VdsmError` (what VDSM answered, or the client's 5022 network error):
 *   its numeric code and message; for a 5022 with a cause (the connection
 *   that failed), the cause's message is added when it says more;
 * - an error with a string `code` (our own `VDSM_ERR_*` errors, Node's
 *   `ECONNREFUSED`, TLS errors): that code and the message;
 * - anything else: its name as the code.
 */
export function errorReport(error: unknown): CliErrorReport {
  if (error instanceof VdsmError) {
    const cause = error instanceof VdsmNetworkError ? causeMessage(error) : undefined;
    const message = cause !== undefined && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
    return { code: error.code, message };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' || typeof code === 'number' ? code : error.name, message: error.message };
  }
  return { code: 'Error', message: String(error) };
}

function causeMessage(error: Error): string | undefined {
  const { cause } = error;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  return undefined;
}

/** `{"code": -32601, "message": "..."}`: one line, spaced as Python's `json.dumps`. */
export function formatErrorReport(report: CliErrorReport): string {
  return `{"code": ${JSON.stringify(report.code)}, "message": ${JSON.stringify(report.message)}}`;
}
