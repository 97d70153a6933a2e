/**
 * Which PostgreSQL failures are worth trying again, the backoff between
 * tries, and the loop that retries. The SQLSTATEs are graphile-worker's RETRYABLE_ERROR_CODES
 * (postgres-workers.md s5.1 "DB restart / failover"): connection exceptions
 * (08xxx), the server shutting down or starting (57P01-57P03), a read-only
 * standby during a failover (25006), serialisation failures and deadlocks
 * (40001, 40P01); plus a lock wait past our lock_timeout (55P03). node-postgres
 * reports a socket that died as a plain Error without a SQLSTATE: those are
 * connection failures too.
 */
const RETRYABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '25006', '40001', '40P01', '55P03']);
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The connection died or was never made: a write in flight may or may not have committed. */
export function isConnectionFailure(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || CONNECTION_ERRNOS.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  return code === undefined && CONNECTION_MESSAGES.some((text) => message.includes(text));
}

export function isRetryable(error: unknown): boolean {
  const code = codeOf(error);
  return isConnectionFailure(error) || (code !== undefined && RETRYABLE_SQLSTATES.has(code));
}

export interface Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** The wait before try `attempt` (0 for the first retry): doubling, capped, with jitter so instances do not retry in step. */
export function backoffMs(attempt: number, backoff: Backoff): number {
  const ceiling = Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export function describePgError(error: unknown): string {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return code ? `${code} ${message}` : message;
}

/** Tries `attempt` until it succeeds, fails for good, or the database stayed away for `retryForMs`. */
export async function retrying<T>(
  what: string,
  attempt: () => Promise<T>,
  options: { readonly retryForMs: number; readonly backoff: Backoff },
  log: (line: string) => void,
  closed: () => boolean,
  extraRetryable: (error: unknown, tries: number) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + options.retryForMs;
  for (let tries = 0; ; tries++) {
    try {
      const result = await attempt();
      if (tries > 0) log(`store: ${what} succeeded after ${tries} retr${tries === 1 ? 'y' : 'ies'}`);
      return result;
    } catch (error) {
      if (extraRetryable(error, tries)) continue;
      if (!isRetryable(error) || closed() || Date.now() >= deadline) throw error;
      const delay = backoffMs(tries, options.backoff);
      log(`store: ${what} failed (${describePgError(error)}); retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
