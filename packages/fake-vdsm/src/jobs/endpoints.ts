/**
 * The SDM verbs' volume endpoints, read as VDSM reads them
 * (sdm/api/copy_data.py `_create_endpoint`, `CopyDataDivEndpoint`;
 * common/properties.py): every failure is a Python exception that the
 * dispatcher answers with 100 and its `str(e)` (job-errors.ts), checked in
 * VDSM's order, `endpoint_type` first, then `sd_id`, `img_id`, `vol_id`,
 * `generation`, `prepared`. Ids come out normalized as `str(uuid.UUID(x))`
 * does (lowercase, with dashes), so they are safe in paths.
 */
import { MAX_GENERATION, pyRepr } from '@vdsm-kit/client/api';
import type { PyValue } from '@vdsm-kit/client/api';
import { plainGeneralError } from './job-errors.js';

/** A `div` endpoint: a volume on a domain of the pool. */
export interface DivEndpoint {
  readonly sdId: string;
  readonly imgId: string;
  readonly volId: string;
  /** The generation the caller expects; undefined when not given (never compared then, except by update_volume). */
  readonly generation: number | undefined;
  readonly prepared: boolean;
}

/**
 * A copy_data endpoint (`_create_endpoint`: `params.pop('endpoint_type')`).
 *
 * @throws VdsmError 100 with Python's message (module comment).
 */
export function parseCopyEndpoint(raw: unknown): DivEndpoint {
  const params = asDict(raw);
  if (!Object.hasOwn(params, 'endpoint_type')) throw plainGeneralError("'endpoint_type'");
  const { endpoint_type: type, ...rest } = params;
  if (type !== 'div') {
    // 'external' (Managed Block Storage) is VDSM's other type; the fake has no external storage to copy from.
    throw plainGeneralError(`Invalid or unsupported endpoint ${pyRepr(rest as PyValue)}`);
  }
  return parseDivProperties(rest);
}

/**
 * update_volume's `vol_info` (`CopyDataDivEndpoint(vol_info)`: no
 * `endpoint_type` needed, and it is ignored when given).
 *
 * @throws VdsmError 100 with Python's message.
 */
export function parseVolumeEndpoint(raw: unknown): DivEndpoint {
  return parseDivProperties(asDict(raw));
}

function parseDivProperties(params: Readonly<Record<string, unknown>>): DivEndpoint {
  return {
    sdId: uuidProperty('sd_id', params.sd_id),
    imgId: uuidProperty('img_id', params.img_id),
    volId: uuidProperty('vol_id', params.vol_id),
    generation: generationProperty('generation', params.generation),
    prepared: booleanProperty('prepared', params.prepared) ?? false,
  };
}

/** The endpoint must be a dict; anything else fails where Python first treats it as one. */
function asDict(raw: unknown): Readonly<Record<string, unknown>> {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) return raw as Record<string, unknown>;
  throw plainGeneralError(`'${pythonTypeName(raw)}' object has no attribute 'get'`);
}

/** `properties.UUID(required=True)`: `str(uuid.UUID(value))`. */
function uuidProperty(name: string, value: unknown): string {
  if (value === undefined || value === null) throw plainGeneralError(`Property ${name} is required`);
  if (typeof value !== 'string') throw plainGeneralError(`'${pythonTypeName(value)}' object has no attribute 'replace'`);
  // uuid.UUID(hex): drops 'urn:', 'uuid:', braces and dashes, then wants 32 hex digits.
  const hex = value.replace(/^urn:/, '').replace(/^uuid:/, '').replace(/^\{|\}$/g, '').replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw plainGeneralError('badly formed hexadecimal UUID string');
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `properties.Integer(minval=0, maxval=MAX_GENERATION)`; a Python bool is an int. */
export function generationProperty(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const int = typeof value === 'boolean' ? Number(value) : value;
  if (typeof int !== 'number' || !Number.isInteger(int)) {
    throw plainGeneralError(`Invalid value ${pyRepr(value as PyValue)} for integer property ${name}`);
  }
  if (int < 0) throw plainGeneralError(`Invalid value ${int} < 0 for property ${name}`);
  if (int > MAX_GENERATION) throw plainGeneralError(`Invalid value ${int} > ${MAX_GENERATION} for property ${name}`);
  return int;
}

/** `properties.Boolean`: `value in (True, False)`, which 0 and 1 pass too. */
function booleanProperty(name: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  throw plainGeneralError(`Invalid value ${pyRepr(value as PyValue)} for boolean property ${name}`);
}

/** Python's type name of a JSON value. */
export function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}
