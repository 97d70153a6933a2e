#!/usr/bin/env node
/**
 * Generates packages/client/src/api/schema-methods.ts from VDSM's API schema
 * (vdsm-api.yml): every method name, and for each its params in schema order
 * with their schema type and default. The fake server uses the method list to
 * tell "unknown to VDSM" (-32601) from "known but not emulated"; the verb tests
 * check the typed API against the params.
 *
 *   node packages/client/scripts/gen-schema-methods.mjs [--schema <vdsm-api.yml>] [--check]
 *
 * The schema defaults to ../shared/reference/vdsm-api.yml beside the repository.
 * `--check` writes nothing and exits 1 when the committed file is out of date.
 *
 * vdsm-api.yml is not strict YAML (it repeats keys), so this reads the method
 * section line by line: methods are column-0 `Namespace.verb:` keys, params are
 * the `-` items under `params:`, and of each item only its own keys count.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const scriptDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(scriptDir, '../../..');
const outFile = resolve(scriptDir, '../src/api/schema-methods.ts');

const METHOD_HEADER = /^([A-Za-z]\w*\.\w+):\s*$/;
const KEY_VALUE = /^([A-Za-z_][\w-]*):\s*(.*)$/;

function parseArgs(argv) {
  const args = { schema: resolve(repoRoot, '../shared/reference/vdsm-api.yml'), check: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--check') args.check = true;
    else if (argv[i] === '--schema' && argv[i + 1] !== undefined) args.schema = resolve(argv[++i]);
    else throw new Error(`unknown argument: ${argv[i]}`);
  }
  return args;
}

const indentOf = (line) => line.length - line.trimStart().length;
const isBlank = (line) => line.trim() === '' || line.trimStart().startsWith('#');

/** A YAML scalar as the schema writes defaults: null, booleans, numbers, quoted or bare strings. */
function scalar(text) {
  const t = text.trim();
  // YAML 1.2 core schema spellings.
  if (/^(null|Null|NULL|~)$/.test(t)) return null;
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (/^-?\d+$/.test(t)) return Number(t);
  if (/^-?\d+\.\d+$/.test(t)) return Number(t);
  if (t === '[]') return [];
  if (t === '{}') return {};
  if (/^'.*'$/.test(t)) return t.slice(1, -1).replace(/''/g, "'");
  if (/^".*"$/.test(t)) return JSON.parse(t);
  return t;
}

/**
 * `*UUID` -> `UUID` (the anchor's name, which can be more precise than the
 * type's own `name:`, e.g. `StorageDomainTypeId`); a list type written as
 * `type:` + `- *UUID` becomes `UUID[]`.
 */
const typeName = (text) => text.trim().replace(/^\*/, '');

/** Splits the file into method name -> its lines (header excluded). */
function methodBlocks(lines) {
  const blocks = new Map();
  let current;
  for (const line of lines) {
    const header = METHOD_HEADER.exec(line);
    if (header) {
      if (blocks.has(header[1])) throw new Error(`method listed twice: ${header[1]}`);
      current = [];
      blocks.set(header[1], current);
    } else if (!isBlank(line) && indentOf(line) === 0) {
      current = undefined; // `types:` or another top-level key
    } else if (current) {
      current.push(line);
    }
  }
  return blocks;
}

/** The params of one method block, in schema order. */
function parseParams(method, block) {
  const start = block.findIndex((line) => /^\s*params:\s*$/.test(line));
  if (start < 0) return [];
  const paramsIndent = indentOf(block[start]);
  const params = [];
  let itemIndent; // column of the `-` that starts each item
  let item; // { param, keyIndent, lastKey }
  for (const line of block.slice(start + 1)) {
    if (isBlank(line)) continue;
    const indent = indentOf(line);
    const text = line.trimStart();
    // YAML lets the items sit at the key's own indent; anything else there ends the list.
    if (indent < paramsIndent || (indent === paramsIndent && !text.startsWith('-'))) break;
    if (text.startsWith('-') && (itemIndent === undefined || indent === itemIndent)) {
      itemIndent = indent;
      const rest = text.slice(1);
      item = { param: {}, keyIndent: indent + 1 + (rest.length - rest.trimStart().length), lastKey: undefined };
      params.push(item.param);
      addKey(item, rest.trimStart(), method);
    } else if (item && indent === item.keyIndent) {
      if (text.startsWith('-') && item.lastKey === 'type') item.param.type = `${typeName(text.slice(1))}[]`;
      else addKey(item, text, method);
    }
    // Deeper lines continue a description or a nested value: not needed.
  }
  return params.map((p) => {
    if (typeof p.name !== 'string') throw new Error(`${method}: a param without a name`);
    return p;
  });
}

function addKey(item, text, method) {
  const kv = KEY_VALUE.exec(text);
  if (!kv) throw new Error(`${method}: cannot read param line: ${text}`);
  const [, key, value] = kv;
  item.lastKey = key;
  if (key === 'name') item.param.name = value.trim();
  else if (key === 'type') item.param.type = value.trim() === '' ? '' : typeName(value);
  else if (key === 'datatype') item.param.datatype = value.trim();
  else if (key === 'defaultvalue') item.param.default = scalar(value);
}

const quote = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function tsValue(value) {
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `[${value.map(tsValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => ` ${quote(k)}: ${tsValue(v)}`).join(',')} }`;
  return String(value);
}

function tsParam(p) {
  const parts = [`name: ${quote(p.name)}`, `type: ${quote(p.type ?? '')}`];
  if (p.datatype !== undefined) parts.push(`datatype: ${quote(p.datatype)}`);
  if ('default' in p) parts.push(`default: ${tsValue(p.default)}`);
  return `{ ${parts.join(', ')} }`;
}

function render(methods, schemaPath) {
  const names = [...methods.keys()].sort();
  const out = [
    '// GENERATED FILE, do not edit. Source: VDSM\'s API schema (oVirt/vdsm lib/vdsm/api/vdsm-api.yml,',
    `// copy at ${relative(repoRoot, schemaPath).replaceAll('\\', '/')} relative to the repository root).`,
    '// Regenerate: node packages/client/scripts/gen-schema-methods.mjs   (check: add --check)',
    '',
    '/** A method parameter as the schema declares it (the real wire type may differ: see verbs/). */',
    'export interface SchemaParam {',
    '  readonly name: string;',
    '  /** The schema type: `UUID`, `int`, `boolean`, a type name, `X[]` for lists. */',
    '  readonly type: string;',
    '  /** The schema\'s `datatype` note (e.g. `int` for an int sent as a string). */',
    '  readonly datatype?: string;',
    '  /** The schema\'s `defaultvalue`; absent when the param has none. */',
    '  readonly default?: unknown;',
    '}',
    '',
    `/** All ${names.length} methods of vdsm-api.yml (\`Namespace.verb\`), sorted. */`,
    'export const SCHEMA_METHODS = [',
    ...names.map((n) => `  ${quote(n)},`),
    '] as const;',
    '',
    '/** A method name VDSM\'s schema knows. */',
    'export type SchemaMethod = (typeof SCHEMA_METHODS)[number];',
    '',
    '/** Each method\'s params in schema order (the order VDSM maps positional params in). */',
    'export const SCHEMA_PARAMS: { readonly [M in SchemaMethod]: readonly SchemaParam[] } = {',
    ...names.map((n) => {
      const params = methods.get(n);
      if (params.length === 0) return `  ${quote(n)}: [],`;
      return [`  ${quote(n)}: [`, ...params.map((p) => `    ${tsParam(p)},`), '  ],'].join('\n');
    }),
    '};',
    '',
  ];
  return out.join('\n');
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const lines = readFileSync(args.schema, 'utf8').split(/\r?\n/);
  const methods = new Map();
  for (const [name, block] of methodBlocks(lines)) methods.set(name, parseParams(name, block));
  const text = render(methods, args.schema);
  if (args.check) {
    let current = '';
    try {
      current = readFileSync(outFile, 'utf8');
    } catch {
      // a missing file is simply out of date
    }
    if (current !== text) {
      process.stderr.write(`${relative(process.cwd(), outFile)} is out of date; run node packages/client/scripts/gen-schema-methods.mjs\n`);
      process.exit(1);
    }
    process.stdout.write(`${relative(process.cwd(), outFile)} is up to date (${methods.size} methods)\n`);
    return;
  }
  writeFileSync(outFile, text);
  process.stdout.write(`wrote ${relative(process.cwd(), outFile)} (${methods.size} methods)\n`);
}

main();
