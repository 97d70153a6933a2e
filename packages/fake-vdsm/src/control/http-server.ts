/**
 * The control plane over HTTP + JSON (docs/faults.md is the reference), on
 * node:http, bound to a loopback address only: it can crash the fake and
 * write into its disks, so it must never be reachable from another machine.
 * An optional bearer token guards every route (401 without it).
 *
 * Errors are `{"error": {"code", "message"}}` with the status of the code
 * (control-api.ts `CONTROL_ERROR_STATUS`); a bad body or id never reaches the
 * store. Each request is handled on its own; a thrown error becomes a 500 and
 * never takes the server down.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../logger.js';
import { ControlError } from './control-api.js';
import type { ControlApi } from './control-api.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';

/** Largest request body accepted (a big write should use `pattern`). */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Options of `startControlServer`. */
export interface ControlServerOptions {
  /** Loopback address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
  /** Bearer token every request must carry (default: none needed). */
  readonly token?: string;
  readonly logger: Logger;
}

/** A listening control server. */
export interface ControlServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * True for a loopback address: 127.0.0.0/8, ::1, `localhost`.
 */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const version = isIP(host);
  if (version === 4) return host.startsWith('127.');
  if (version === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * Starts the control server for `control`.
 *
 * @throws RangeError for a non-loopback `host`, a bad port or an empty token; the listen error.
 */
export async function startControlServer(control: ControlApi, options: ControlServerOptions): Promise<ControlServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new RangeError(`the control API listens on loopback only (127.0.0.1, ::1, localhost), not ${host}`);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`not a control port: ${port}`);
  if (options.token !== undefined && options.token.length === 0) throw new RangeError('the control token must not be empty');
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);
  const logger = options.logger.child({ component: 'control' });

  const server: Server = createServer((request, response) => {
    handle(control, expected, request, response).catch((error: unknown) => {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'Control request failed');
      if (!response.headersSent) sendError(response, new ControlError('internal', 'internal error'));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  logger.info({ host, port: bound, token: expected !== undefined }, 'Control API listening');
  return {
    url: `http://${urlHost}:${bound}`,
    port: bound,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Path segments of a route with `:name` parameters. */
type RouteHandler = (context: RouteContext) => Promise<[status: number, body: unknown] | undefined>;

interface RouteContext {
  readonly control: ControlApi;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  body(): Promise<Record<string, unknown>>;
  readonly response: ServerResponse;
}

interface Route {
  readonly method: string;
  readonly parts: readonly string[];
  readonly handler: RouteHandler;
}

const ROUTES: readonly Route[] = [
  route('GET', '/health', async ({ control }) => [200, await control.health()]),
  route('GET', '/faults', async ({ control }) => [200, await control.listFaults()]),
  route('POST', '/faults', async ({ control, body }) => [201, await control.addFault(await body())]),
  route('DELETE', '/faults', async ({ control }) => [200, { removed: await control.clearFaults() }]),
  route('GET', '/faults/log', async ({ control }) => [200, await control.faultLog()]),
  route('DELETE', '/faults/:id', async ({ control, params }) => {
    if (!(await control.removeFault(params['id'] as string))) throw new ControlError('not_found', `no fault rule ${params['id']}`);
    return [200, { removed: 1 }];
  }),
  route('POST', '/reset', async ({ control, body }) => {
    const { pool } = await body();
    return [200, await control.reset(pool === undefined ? {} : { pool: pool as string })];
  }),
  route('GET', '/hosts', async ({ control }) => [200, await control.listHosts()]),
  route('GET', '/domains', async ({ control }) => [200, await control.listDomains()]),
  route('GET', '/images', async ({ control, query }) => [200, await control.listImages(requiredQuery(query, 'domain'))]),
  route('GET', '/volumes', async ({ control, query }) => [200, await control.listVolumes(requiredQuery(query, 'domain'), query.get('image') ?? undefined)]),
  route('GET', '/volumes/:sd/:img/:vol', async ({ control, params, query }) => [
    200,
    await control.getVolume(params['sd'] as string, params['img'] as string, params['vol'] as string, { checksum: query.get('checksum') === '1' }),
  ]),
  route('GET', '/volumes/:sd/:img/:vol/checksum', async ({ control, params }) => [
    200,
    await control.checksum(params['sd'] as string, params['img'] as string, params['vol'] as string),
  ]),
  route('POST', '/volumes/:sd/:img/:vol/data', async ({ control, params, body }) => [
    200,
    await control.writeData(params['sd'] as string, params['img'] as string, params['vol'] as string, (await body()) as never),
  ]),
  route('GET', '/tasks', async ({ control }) => [200, await control.listTasks()]),
  route('GET', '/locks', async ({ control }) => [200, await control.listLocks()]),
  route('GET', '/jobs', async ({ control, query }) => {
    const host = query.get('host');
    return [200, await control.listJobs(host === null ? undefined : hostParam(host))];
  }),
  route('POST', '/jobs/:host/:id/abort', async ({ control, params }) => [200, await control.abortJob(hostParam(params.host), params.id as string)]),
  route('POST', '/clock/advance', async ({ control, body }) => {
    const { ms } = await body();
    if (typeof ms !== 'number') throw new ControlError('bad_request', 'give {"ms": N}');
    return [200, await control.advanceClock(ms)];
  }),
  route('GET', '/invariants', async ({ control }) => [200, await control.invariants()]),
  route('POST', '/crash', async ({ control, response }) => {
    // Answer first, then crash: under `serve` the process dies at once (SIGKILL), so nothing could be sent after.
    sendJson(response, 202, { crashing: true }, () => void control.crash().catch(() => undefined));
    return undefined;
  }),
  route('POST', '/hosts/:host/crash', async ({ control, params }) => {
    await control.crashHost(hostParam(params.host));
    return [200, { crashed: true }];
  }),
  route('POST', '/hosts/:host/restart', async ({ control, params }) => {
    await control.restartHost(hostParam(params.host));
    return [200, { restarted: true }];
  }),
  route('POST', '/restart', async ({ control }) => {
    await control.restart();
    return [200, { restarted: true }];
  }),
  route('GET', '/calls', async ({ control, query }) => {
    const method = query.get('method') ?? undefined;
    const since = optionalIntegerQuery(query, 'since');
    return [200, await control.listCalls({ ...(method === undefined ? {} : { method }), ...(since === undefined ? {} : { since }) })];
  }),
  route('DELETE', '/calls', async ({ control }) => [200, { removed: await control.clearCalls() }]),
  route('GET', '/metrics', async ({ control, response }) => {
    const text = await control.metrics();
    response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return undefined;
  }),
];

function route(method: string, path: string, handler: RouteHandler): Route {
  return { method, parts: path.split('/').filter((part) => part !== ''), handler };
}

async function handle(control: ControlApi, expected: Buffer | undefined, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    if (expected !== undefined) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        response.setHeader('www-authenticate', 'Bearer');
        throw new ControlError('unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
      }
    }
    const url = new URL(request.url ?? '/', 'http://control');
    const parts = url.pathname.split('/').filter((part) => part !== '');
    let pathMatched = false;
    for (const candidate of ROUTES) {
      const params = matchParts(candidate.parts, parts);
      if (params === undefined) continue;
      pathMatched = true;
      if (candidate.method !== request.method) continue;
      const result = await candidate.handler({ control, params, query: url.searchParams, body: () => readJsonBody(request), response });
      if (result !== undefined) sendJson(response, result[0], result[1]);
      return;
    }
    throw pathMatched
      ? new ControlError('method_not_allowed', `${request.method ?? '?'} is not allowed on ${url.pathname}`)
      : new ControlError('not_found', `no route ${url.pathname}`);
  } catch (error) {
    if (error instanceof ControlError) {
      sendError(response, error);
      return;
    }
    throw error;
  }
}

/** The route's parameters when `parts` fits `pattern`, else undefined. A literal beats nothing: order routes literal-first. */
function matchParts(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of pattern.entries()) {
    const part = parts[index] as string;
    if (segment.startsWith(':')) {
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (segment !== part) {
      return undefined;
    }
  }
  return params;
}

function requiredQuery(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null) throw new ControlError('bad_request', `the query parameter ${name} is required`);
  return value;
}

/** A whole number >= 0 from the query, undefined when absent. */
function optionalIntegerQuery(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new ControlError('bad_request', `the query parameter ${name} is a whole number >= 0, not ${JSON.stringify(value.slice(0, 40))}`);
  return Number(value);
}

/** The body as a JSON object; an empty body is `{}`. */
async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ControlError('bad_request', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlError('bad_request', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ControlError('bad_request', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function sendJson(response: ServerResponse, status: number, body: unknown, done?: () => void): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text, done);
}

function sendError(response: ServerResponse, error: ControlError): void {
  sendJson(response, error.status, { error: { code: error.code, message: error.message } });
}

/** A host id from the URL: a decimal number (anything else is refused by the control API, by value). */
function hostParam(text: string | undefined): number {
  if (text === undefined || !/^\d{1,9}$/.test(text)) throw new ControlError('bad_request', 'host must be a VDSM host id (an integer of at least 1)');
  return Number(text);
}
