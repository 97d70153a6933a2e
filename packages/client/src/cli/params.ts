/**
 * The params `vdsm-client` sends: for a verb of the typed API they go through
 * its zod schema (bad params refused before connecting, defaults filled in,
 * wire types applied); any other `Namespace.verb` is sent as given, so VDSM
 * answers for itself (-32601 for a method it does not have).
 */
import { ImageOperation } from '../api/enums.js';
import { InvalidParamsError, parseVerbParams } from '../api/invalid-params.js';
import { VERBS, isVdsmMethod } from '../api/verbs/index.js';
import type { CliParam } from './args.js';

/**
 * The wire params of `method`. `cliParams` are the `name=value` arguments:
 * when the JSON reading of one does not fit a known verb's schema but its
 * text does (`message=123` where a string is wanted), the text is sent, which
 * is what a shell user means by it.
 *
 * @throws InvalidParamsError for a known verb whose params do not fit its
 *   schema (the issues of the params as read, not of the text retry).
 */
export function prepareParams(
  method: string,
  params: Readonly<Record<string, unknown>>,
  cliParams: ReadonlyMap<string, CliParam> = new Map(),
): Record<string, unknown> {
  if (!isVdsmMethod(method)) return { ...params };
  try {
    return parseVerbParams(method, params as never) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof InvalidParamsError)) throw error;
    const retry = withTextsWhereRefused(params, cliParams, error);
    if (retry === undefined) throw error;
    try {
      return parseVerbParams(method, retry as never) as Record<string, unknown>;
    } catch {
      // The first error speaks of what the user typed as read; the retry's
      // would speak of strings the user may not have meant.
      throw error;
    }
  }
}

/**
 * `params` with each refused top-level param that came from the command line
 * as a non-string JSON value replaced by its text; undefined when there is
 * no such param (a retry could not help).
 */
function withTextsWhereRefused(
  params: Readonly<Record<string, unknown>>,
  cliParams: ReadonlyMap<string, CliParam>,
  error: InvalidParamsError,
): Record<string, unknown> | undefined {
  const retry: Record<string, unknown> = { ...params };
  let changed = false;
  for (const issue of error.issues) {
    const name = issue.path[0];
    if (typeof name !== 'string') continue;
    const param = cliParams.get(name);
    // Only values the command line gave (not the file's), and read as JSON.
    if (param === undefined || typeof param.value === 'string' || retry[name] !== param.value) continue;
    retry[name] = param.text;
    changed = true;
  }
  return changed ? retry : undefined;
}

/**
 * A clear account of bad params, one issue per line: a param left out says
 * `missing` rather than zod's "expected string, received undefined".
 */
export function describeInvalidParams(error: InvalidParamsError, params: Readonly<Record<string, unknown>>): string {
  const lines = [`invalid params for ${error.method}:`];
  for (const issue of error.issues) {
    const where = issue.path.length === 0 ? '(params)' : issue.path.map(String).join('.');
    const name = issue.path[0];
    const missing = issue.path.length === 1 && typeof name === 'string' && !Object.hasOwn(params, name);
    lines.push(`  ${where}: ${missing ? 'missing' : issue.message}`);
  }
  return lines.join('\n');
}

/**
 * A known verb's params on one line, in schema order, for messages:
 * `imageID storagepoolID ... discard=false`. A param with a default shows
 * it; one that may be left out without a default is shown in brackets.
 * Undefined for a method the typed API does not know.
 */
export function describeVerbParams(method: string): string | undefined {
  if (!isVdsmMethod(method)) return undefined;
  const shape = VERBS[method].params.shape as Record<string, { safeParse(value: unknown): { success: boolean; data?: unknown } }>;
  const names = Object.entries(shape).map(([name, schema]) => {
    const absent = schema.safeParse(undefined);
    if (!absent.success) return name;
    return absent.data === undefined ? `[${name}]` : `${name}=${JSON.stringify(absent.data)}`;
  });
  return names.length === 0 ? '(none)' : names.join(' ');
}

/**
 * The verbs the CLI checks locally, by namespace, for `--help`.
 */
export function describeKnownVerbs(): string {
  const byNamespace = new Map<string, string[]>();
  for (const method of Object.keys(VERBS)) {
    const dot = method.indexOf('.');
    const namespace = method.slice(0, dot);
    let verbs = byNamespace.get(namespace);
    if (verbs === undefined) byNamespace.set(namespace, (verbs = []));
    verbs.push(method.slice(dot + 1));
  }
  const lines = ['Verbs checked locally (params validated, defaults filled in; any other', 'Namespace verb is sent as given):'];
  for (const [namespace, verbs] of byNamespace) lines.push(...wrap(`  ${namespace}: `, verbs, HELP_WIDTH));
  lines.push(
    '',
    `Example (a copy: operation=${ImageOperation.Copy}):`,
    '  vdsm-client -a host1 Image move imageID=<uuid> storagepoolID=<uuid> \\',
    `    storagedomainID=<uuid> dstSdUUID=<uuid> operation=${ImageOperation.Copy} postZero=false \\`,
    '    force=false',
  );
  return lines.join('\n');
}

/** The width `--help` is wrapped to (as in args.ts). */
const HELP_WIDTH = 80;

/** `words` joined by ', ' after `head`, wrapped at `width` with continuation lines under the first word. */
function wrap(head: string, words: readonly string[], width: number): string[] {
  const indent = ' '.repeat(head.length);
  const lines: string[] = [];
  let line = head;
  words.forEach((word, index) => {
    const piece = index < words.length - 1 ? `${word},` : word;
    if (line.length > indent.length && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = indent + piece;
    } else {
      line += line === head ? piece : ` ${piece}`;
    }
  });
  lines.push(line);
  return lines;
}
