#!/usr/bin/env node
/**
 * `vdsm-client`: calls one VDSM verb and prints the result, like VDSM's own
 * tool (oVirt/vdsm:lib/vdsmclient/client.py):
 *
 *   vdsm-client [-a HOST] [-p PORT] [--insecure | --pki-dir DIR] [--ws URL]
 *               [--timeout S] [--flow-id ID] [-f FILE] Namespace verb [name=value ...]
 *
 * Exit status: 0 with the result as JSON on stdout; 1 with
 * `{"code": ..., "message": "..."}` on stderr when VDSM answers an error or
 * the connection fails; 2 for a usage error (bad options, bad params of a
 * known verb) with the reason on stderr.
 */
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { InvalidParamsError } from '../api/invalid-params.js';
import { VdsmClient } from '../client.js';
import type { VdsmClientOptions } from '../client.js';
import { DEFAULT_STOMP_CONNECT_TIMEOUT_MS } from '../stomp/client-session.js';
import { USAGE_EXIT_CODE, UsageError, mergeParams, parseArgs, parseParamsFile } from './args.js';
import type { CliConnection, CliRequest } from './args.js';
import { errorReport, formatErrorReport, formatResult } from './output.js';
import { describeInvalidParams, describeKnownVerbs, describeVerbParams, prepareParams } from './params.js';

/**
 * Runs the command line `argv` (without node and the script) and resolves
 * with the exit status. Never calls `process.exit`: output written to a pipe
 * is flushed before the process ends on its own, once the connection is
 * closed.
 */
async function main(argv: readonly string[]): Promise<number> {
  const outcome = parseArgs(argv, { helpAfter: describeKnownVerbs() });
  if (outcome.kind === 'exit') {
    process.stdout.write(outcome.stdout);
    process.stderr.write(outcome.stderr);
    return outcome.exitCode;
  }
  const { request } = outcome;

  let params: Record<string, unknown>;
  try {
    const given = mergeParams(await readParamsFile(request), request.params);
    try {
      params = prepareParams(request.method, given, request.params);
    } catch (error) {
      if (!(error instanceof InvalidParamsError)) throw error;
      throw new UsageError(describeInvalidParams(error, given));
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`vdsm-client: error: ${error.message}\n`);
    const known = describeVerbParams(request.method);
    if (known !== undefined) process.stderr.write(`params of ${request.method}: ${known}\n`);
    return USAGE_EXIT_CODE;
  }

  let client: VdsmClient | undefined;
  try {
    client = new VdsmClient(clientOptions(request.connection, request.timeoutMs));
    const result = await client.call(request.method, params, {
      timeoutMs: request.timeoutMs,
      ...(request.flowId !== undefined ? { flowId: request.flowId } : {}),
    });
    process.stdout.write(`${formatResult(result)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${formatErrorReport(errorReport(error))}\n`);
    return 1;
  } finally {
    // The answer is out already; a failing close must not change the status.
    await client?.close().catch(() => undefined);
  }
}

/** The `-f` params: `{}` without `-f`, stdin for `-f -`. */
async function readParamsFile(request: CliRequest): Promise<Record<string, unknown>> {
  const file = request.paramsFile;
  if (file === undefined) return {};
  if (file === '-') return parseParamsFile(await text(process.stdin), 'on stdin');
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read params file ${file}: ${(error as Error).message}`);
  }
  return parseParamsFile(content, file);
}

/**
 * The client's options: the connection as given, the call timeout also
 * bounding each connect phase (as VDSM's tool applies its one `--timeout` to
 * connecting too), and no connect retries: a one-shot command reports a
 * refused connection at once instead of backing off for seconds.
 */
function clientOptions(connection: CliConnection, timeoutMs: number): VdsmClientOptions {
  const common = {
    timeoutMs,
    connectTimeoutMs: Math.min(timeoutMs, DEFAULT_STOMP_CONNECT_TIMEOUT_MS),
    reconnect: { retries: 0 },
  };
  switch (connection.transport) {
    case 'tcp':
      return { ...common, transport: 'tcp', host: connection.host, port: connection.port };
    case 'tls':
      // The client reads the PKI before connecting; a missing file is a PkiError naming it.
      return { ...common, transport: 'tls', host: connection.host, port: connection.port, pkiDir: connection.pkiDir };
    case 'ws':
      return { ...common, transport: 'ws', url: connection.url, ...(connection.pkiDir !== undefined ? { pkiDir: connection.pkiDir } : {}) };
  }
}

// `vdsm-client ... | head` closes the pipe early: that is the reader's
// choice, not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A bug of ours: still answer in the CLI's error format, not with a stack dump.
  process.stderr.write(`${formatErrorReport(errorReport(error))}\n`);
  process.exitCode = 1;
}
