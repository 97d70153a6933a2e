/**
 * The zod schema of a fixture file (docs/fixture.md): its shape, types and
 * field-level rules. Rules across entries (references, one master per pool,
 * chains, space) are checked when the fixture is planned (fixture-plan.ts).
 *
 * Every key is optional but the ids (and a domain's `kind`, a disk's
 * `domain`); unknown keys are errors, so a typo never silently becomes a default.
 */
import {
  BLANK_UUID,
  DiskType,
  StorageDomainClass,
  StorageDomainRole,
  StorageDomainStatus,
  VolumeAllocationName,
  VolumeFormatName,
  VolumeLegality,
  VolumeRoleName,
} from '@vdsm-kit/client/api';
import { z } from 'zod';
import { DOMAIN_KIND_OF_TYPE, DomainKind } from './records.js';
import type { KnownDomainType } from './records.js';

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
const SIZE_TEXT = /^\s*(\d+)\s*(B|KiB|MiB|GiB|TiB)?\s*$/i;
const SIZE_HINT = 'must be a whole number of bytes or a size like "1 GiB" (units B, KiB, MiB, GiB, TiB)';

/** Bytes written `"64 MiB"`, `"512"` or `512`; undefined when not a size. */
export function parseByteSize(value: number | string): number | undefined {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else {
    const match = SIZE_TEXT.exec(value);
    if (!match) return undefined;
    bytes = Number(match[1]) * (UNIT_BYTES[(match[2] ?? 'b').toLowerCase()] ?? Number.NaN);
  }
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
}

/** A byte count: an integer, or a string with a binary unit. */
const byteSize = z.union([z.number(), z.string()], { error: SIZE_HINT }).transform((value, ctx) => {
  const bytes = parseByteSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `${SIZE_HINT}, not ${JSON.stringify(value)}`, input: value });
    return z.NEVER;
  }
  return bytes;
});

/** A lower-cased UUID that is not the blank UUID (which VDSM reads as "none"). */
const uuid = z
  .guid({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a UUID (8-4-4-4-12 hex digits)') })
  .refine((value) => value !== BLANK_UUID, { error: `must not be the blank UUID ${BLANK_UUID} (VDSM reads it as "none")` })
  .transform((value) => value.toLowerCase());

const name = z.string().min(1, { error: 'must not be empty' });

/** A pool (data centre). */
const poolSchema = z.strictObject({
  id: uuid,
  name: name.optional(),
  masterVersion: z.int().min(0).optional(),
  /** The SPM's host id; null: no SPM. Default: the pool's lowest host id. */
  spm: z.int().min(1).nullable().optional(),
  lver: z.int().min(-1).optional(),
});

/** A host. */
const hostSchema = z.strictObject({
  id: z.int().min(1).max(2000, { error: 'must be a VDSM host id, 1..2000' }),
  uuid: uuid.optional(),
  name: name.optional(),
  /** Null: not connected to a pool. Default: the only pool. */
  pool: uuid.nullable().optional(),
});

/** The types a fixture domain may have: those with a kind of storage (not UNKNOWN). */
const DOMAIN_TYPES = Object.keys(DOMAIN_KIND_OF_TYPE) as [KnownDomainType, ...KnownDomainType[]];

/** A storage domain. */
const domainSchema = z.strictObject({
  id: uuid,
  pool: uuid.optional(),
  name: name.optional(),
  kind: z.enum(DomainKind),
  type: z.enum(DOMAIN_TYPES).optional(),
  class: z.enum(StorageDomainClass).optional(),
  role: z.enum(StorageDomainRole).optional(),
  status: z.enum(StorageDomainStatus).optional(),
  version: z.int().min(0).optional(),
  capacity: byteSize.optional(),
  blockSize: z.union([z.literal(512), z.literal(4096)], { error: 'must be 512 or 4096' }).optional(),
  discard: z.boolean().optional(),
  reachable: z.boolean().optional(),
});

const BYTE_HINT = 'a byte pattern must be 0..255';

/**
 * Bytes written into a volume at `offset`: `pattern` (a byte value or a text)
 * repeated for `length` bytes, or the literal `hex` / `base64` bytes
 * (repeated to `length` when given).
 */
const dataSchema = z
  .strictObject({
    offset: byteSize,
    length: byteSize.optional(),
    pattern: z
      .union([z.int().min(0, { error: BYTE_HINT }).max(255, { error: BYTE_HINT }), z.string().min(1, { error: 'must not be empty' })], {
        error: 'must be a byte (0..255) or a text',
      })
      .optional(),
    hex: z.string().regex(/^(?:[0-9a-f]{2})+$/i, { error: 'must be a non-empty even number of hex digits' }).optional(),
    base64: z.base64({ error: 'must be base64' }).min(1, { error: 'must not be empty' }).optional(),
  })
  .transform((entry, ctx) => {
    const sources = (['pattern', 'hex', 'base64'] as const).filter((key) => entry[key] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of pattern, hex or base64', input: entry });
      return z.NEVER;
    }
    let bytes: Buffer;
    if (entry.pattern !== undefined) {
      if (entry.length === undefined) {
        ctx.addIssue({ code: 'custom', path: ['length'], message: 'is required with pattern', input: entry });
        return z.NEVER;
      }
      bytes = typeof entry.pattern === 'number' ? Buffer.of(entry.pattern) : Buffer.from(entry.pattern, 'utf8');
    } else {
      bytes = entry.hex !== undefined ? Buffer.from(entry.hex, 'hex') : Buffer.from(entry.base64 ?? '', 'base64');
    }
    const length = entry.length ?? bytes.length;
    if (length === 0) {
      ctx.addIssue({ code: 'custom', path: ['length'], message: 'must be at least 1', input: entry });
      return z.NEVER;
    }
    return { offset: entry.offset, length, bytes };
  });

/** A volume of a disk's chain. */
const volumeSchema = z.strictObject({
  id: uuid,
  /** Only on the first volume: a template volume (another disk on the same domain) it is based on. */
  parent: uuid.optional(),
  format: z.enum(VolumeFormatName).optional(),
  allocation: z.enum(VolumeAllocationName).optional(),
  role: z.enum(VolumeRoleName).optional(),
  capacity: byteSize.optional(),
  legality: z.enum(VolumeLegality).optional(),
  generation: z.int().min(0).max(999, { error: "must be 0..999 (VDSM's MAX_GENERATION)" }).optional(),
  description: z.string().optional(),
  ctime: z.int().min(0).optional(),
  data: z.array(dataSchema).optional(),
});

/** A disk: an image on one domain, its volumes listed base first. */
const diskSchema = z.strictObject({
  id: uuid,
  domain: uuid,
  capacity: byteSize.optional(),
  diskType: z.enum(DiskType).optional(),
  description: z.string().optional(),
  volumes: z.array(volumeSchema).min(1, { error: 'must list at least one volume' }),
});

/** A whole fixture file. */
export const fixtureSchema = z.strictObject({
  pools: z.array(poolSchema).default([]),
  hosts: z.array(hostSchema).default([]),
  domains: z.array(domainSchema).default([]),
  disks: z.array(diskSchema).default([]),
});

/** A fixture as written (JSON), before defaults. */
export type FixtureInput = z.input<typeof fixtureSchema>;
/** A fixture after the schema: sizes in bytes, ids lower-cased, data decoded; cross-references not checked yet. */
export type ParsedFixture = z.output<typeof fixtureSchema>;
/** One decoded data entry: `bytes` repeated from `offset` for `length` bytes. */
export type ParsedData = z.output<typeof dataSchema>;
