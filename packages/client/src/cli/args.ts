/**
 * The command line of `vdsm-client`, read into plain data: where to connect,
 * which `Namespace.verb` to call and with which params. Pure (no I/O, no
 * process state), so every rule here is unit-tested without a socket; the
 * entry point (vdsm-client.ts) does the reading of files and the calling.
 *
 * The options follow VDSM's own `vdsm-client` (oVirt/vdsm:lib/vdsmclient/client.py):
 * `-a/--host` (localhost), `-p/--port` (54321), `--insecure` (plain TCP
 * instead of mutual TLS), `--timeout` in seconds (60), `--flow-id`, `-f FILE`
 * (`-` for stdin), then `Namespace verb name=value ...`. Added here:
 * `--pki-dir` (VDSM's one is fixed to /etc/pki/vdsm) and `--ws URL`.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_PORT } from '../api/constants.js';
import { DEFAULT_PKI_DIR } from '../transport/pki.js';

/** vdsm-client's default host. */
export const DEFAULT_HOST = 'localhost';

/** vdsm-client's default per-call timeout (`--timeout`, seconds). */
export const DEFAULT_TIMEOUT_S = 60;

/** Exit status of a usage error (bad options, bad `name=value`, bad params), as argparse uses it. */
export const USAGE_EXIT_CODE = 2;

/** Where and how to connect, as the command line says it. */
export type CliConnection =
  | { readonly transport: 'tcp'; readonly host: string; readonly port: number }
  | { readonly transport: 'tls'; readonly host: string; readonly port: number; readonly pkiDir: string }
  /** `pkiDir` only for `wss://` (mutual TLS over WebSocket). */
  | { readonly transport: 'ws'; readonly url: string; readonly pkiDir?: string };

/**
 * One `name=value` argument: the value as JSON when the text parses as JSON,
 * else the text itself; `text` is kept so a schema that wants a string can
 * have the text back (`message=123` for `Host.echo`).
 */
export interface CliParam {
  readonly value: unknown;
  readonly text: string;
}

/** A call the command line asks for. */
export interface CliRequest {
  readonly connection: CliConnection;
  /** `Namespace.verb`. */
  readonly method: string;
  /** The `name=value` arguments, in command-line order. */
  readonly params: ReadonlyMap<string, CliParam>;
  /** `-f FILE`: a JSON object of params, merged under the `name=value` ones; `-` is stdin. */
  readonly paramsFile?: string;
  /** `--timeout` in milliseconds. */
  readonly timeoutMs: number;
  /** `--flow-id`: sent as `ovirtCorrelationId`. */
  readonly flowId?: string;
}

/**
 * What the command line asks for: a call, or to end at once with output
 * (help, or a usage error with the help after it).
 */
export type ParseOutcome =
  | { readonly kind: 'call'; readonly request: CliRequest }
  | { readonly kind: 'exit'; readonly exitCode: number; readonly stdout: string; readonly stderr: string };

/** Options of `parseArgs`. */
export interface ParseArgsOptions {
  /** Printed after the options in `--help`, not after a usage error (e.g. the list of known verbs). */
  readonly helpAfter?: string;
  /** Help wrap width (default 80, so output does not depend on the terminal). */
  readonly helpWidth?: number;
}

/** A bad command line found after commander's own checks (a `name=value` or a conflict). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Reads one `name=value` value: JSON when it parses (`1` a number, `false` a
 * boolean, `["a","b"]` an array, `"x"` a string, `null`), else the text as is
 * (a UUID, a path, a word).
 */
export function parseParamValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Reads the `name=value` arguments. A name given twice is refused rather than
 * silently overwritten (VDSM's tool keeps the last), since it is nearly
 * always a typo in a long command line.
 *
 * @throws UsageError for an argument without `=`, an empty name, or a repeated name.
 */
export function parseParamArgs(args: readonly string[]): Map<string, CliParam> {
  const params = new Map<string, CliParam>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0) throw new UsageError(`invalid param '${arg}': expected name=value`);
    const name = arg.slice(0, eq);
    if (name === '') throw new UsageError(`invalid param '${arg}': the name before '=' is empty`);
    if (params.has(name)) throw new UsageError(`param '${name}' is given twice`);
    const text = arg.slice(eq + 1);
    params.set(name, { value: parseParamValue(text), text });
  }
  return params;
}

/**
 * Reads the text of a `-f` file: it must hold one JSON object (the params
 * by name). `source` names the file in errors.
 *
 * @throws UsageError when the text is empty, not JSON, or not an object.
 */
export function parseParamsFile(text: string, source: string): Record<string, unknown> {
  if (text.trim() === '') throw new UsageError(`params file ${source} is empty`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`params file ${source} is not JSON: ${(error as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError(`params file ${source} must hold a JSON object of params by name, not ${describeJson(data)}`);
  }
  return data as Record<string, unknown>;
}

/**
 * The params to send: the file's, overridden by the `name=value` ones (the
 * command line is the more specific of the two).
 */
export function mergeParams(fileParams: Readonly<Record<string, unknown>>, cliParams: ReadonlyMap<string, CliParam>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...fileParams };
  for (const [name, param] of cliParams) merged[name] = param.value;
  return merged;
}

/**
 * Reads `argv` (without the node and script paths). Never exits or writes:
 * help and usage errors come back as an `exit` outcome with their text.
 */
export function parseArgs(argv: readonly string[], options: ParseArgsOptions = {}): ParseOutcome {
  let stdout = '';
  let stderr = '';
  const program = buildProgram(options, {
    writeOut: (text) => (stdout += text),
    writeErr: (text) => (stderr += text),
  });
  try {
    program.parse([...argv], { from: 'user' });
    return { kind: 'call', request: toRequest(program) };
  } catch (error) {
    if (error instanceof UsageError) {
      // Shown the way commander shows its own errors, help included.
      try {
        program.error(`error: ${error.message}`, { exitCode: USAGE_EXIT_CODE, code: 'vdsm-client.usage' });
      } catch (commanderError) {
        error = commanderError;
      }
    }
    if (error instanceof CommanderError) {
      // Help asked for is a success (0); everything else is a usage error.
      const exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
      return { kind: 'exit', exitCode, stdout, stderr };
    }
    throw error;
  }
}

interface Output {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

function buildProgram(options: ParseArgsOptions, output: Output): Command {
  const width = options.helpWidth ?? 80;
  const program = new Command('vdsm-client')
    .description("Calls one VDSM JSON-RPC verb and prints its result as JSON, like VDSM's own vdsm-client.")
    .usage('[options] Namespace verb [name=value ...]')
    .addOption(new Option('-a, --host <host>', 'host address').default(DEFAULT_HOST))
    .addOption(new Option('-p, --port <port>', 'port').default(DEFAULT_PORT).argParser(parsePort))
    .addOption(new Option('--insecure', 'plain TCP instead of mutual TLS'))
    .addOption(new Option('--pki-dir <dir>', `VDSM PKI directory (keys/vdsmkey.pem, certs/vdsmcert.pem, certs/cacert.pem)`).default(DEFAULT_PKI_DIR))
    .addOption(new Option('--ws <url>', 'STOMP over WebSocket at this ws:// or wss:// URL instead of -a/-p'))
    .addOption(new Option('--timeout <seconds>', 'per-call timeout in seconds').default(DEFAULT_TIMEOUT_S).argParser(parseTimeout))
    .addOption(new Option('--flow-id <id>', 'flow id sent with the call (ovirtCorrelationId), to find it in vdsm.log'))
    .addOption(new Option('-f, --file <file>', "read params from a JSON object in this file ('-' for stdin); name=value params override it"))
    .argument('<Namespace>', 'method namespace, e.g. Host')
    .argument('<verb>', 'method name, e.g. getCapabilities')
    .argument('[params...]', 'params as name=value; a value is read as JSON when it parses, else as a string')
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: output.writeOut,
      writeErr: output.writeErr,
      getOutHelpWidth: () => width,
      getErrHelpWidth: () => width,
    });
  const { helpAfter } = options;
  // Only with --help: after a usage error the options are what matters.
  if (helpAfter) program.addHelpText('after', (context) => (context.error ? '' : `\n${helpAfter}`));
  return program;
}

function toRequest(program: Command): CliRequest {
  const opts = program.opts<{
    host: string;
    port: number;
    insecure?: true;
    pkiDir: string;
    ws?: string;
    timeout: number;
    flowId?: string;
    file?: string;
  }>();
  const [namespace, verb, paramArgs] = program.processedArgs as [string, string, string[]];
  const given = (key: string): boolean => program.getOptionValueSource(key) === 'cli';

  if (opts.insecure && given('pkiDir')) throw new UsageError('--insecure and --pki-dir do not go together (--insecure means no TLS)');
  if (!/^[A-Za-z_][\w]*$/.test(namespace)) throw new UsageError(`invalid Namespace '${namespace}'`);
  if (!/^[A-Za-z_][\w]*$/.test(verb)) throw new UsageError(`invalid verb '${verb}'`);

  return {
    connection: toConnection(opts, given),
    method: `${namespace}.${verb}`,
    params: parseParamArgs(paramArgs),
    ...(opts.file !== undefined ? { paramsFile: opts.file } : {}),
    timeoutMs: Math.round(opts.timeout * 1000),
    ...(opts.flowId !== undefined ? { flowId: opts.flowId } : {}),
  };
}

function toConnection(
  opts: { host: string; port: number; insecure?: true; pkiDir: string; ws?: string },
  given: (key: string) => boolean,
): CliConnection {
  if (opts.ws === undefined) {
    return opts.insecure
      ? { transport: 'tcp', host: opts.host, port: opts.port }
      : { transport: 'tls', host: opts.host, port: opts.port, pkiDir: opts.pkiDir };
  }
  if (given('host') || given('port')) throw new UsageError('--ws gives the whole address: drop -a/--host and -p/--port');
  let url: URL;
  try {
    url = new URL(opts.ws);
  } catch {
    throw new UsageError(`--ws '${opts.ws}' is not a URL (expected ws://host:port/path or wss://...)`);
  }
  if (url.protocol === 'ws:') {
    if (given('pkiDir')) throw new UsageError('--pki-dir needs a wss:// URL (ws:// has no TLS)');
    return { transport: 'ws', url: opts.ws };
  }
  if (url.protocol === 'wss:') {
    // --insecure means "no TLS", which a wss:// URL contradicts.
    if (opts.insecure) throw new UsageError('--insecure needs a ws:// URL (wss:// is TLS)');
    return { transport: 'ws', url: opts.ws, pkiDir: opts.pkiDir };
  }
  throw new UsageError(`--ws '${opts.ws}' must be a ws:// or wss:// URL`);
}

/** The longest delay Node's timers take. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new InvalidArgumentError('expected a port number 1..65535.');
  return port;
}

function parseTimeout(text: string): number {
  const seconds = Number(text);
  // Number('') is 0 and Number(' 5') is 5: insist on a plain decimal.
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(text) || !(seconds > 0)) throw new InvalidArgumentError('expected a number of seconds > 0.');
  // Node's timers fire at once (with a warning) beyond 2^31-1 ms.
  if (seconds * 1000 > MAX_TIMER_MS) throw new InvalidArgumentError(`expected at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds.`);
  return seconds;
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
