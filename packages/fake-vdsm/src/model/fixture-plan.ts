/**
 * Turns a fixture (docs/fixture.md) into the exact records to store: checks
 * the schema, then the rules across entries, fills every default, and
 * reports ALL problems at once, each as `path: reason`. Pure: nothing here
 * touches the database or the disk, so a bad fixture changes nothing.
 */
import { randomUUID } from 'node:crypto';
import {
  BLANK_UUID,
  DiskType,
  LVER_INVALID,
  StorageDomainClass,
  StorageDomainRole,
  StorageDomainStatus,
  StorageDomainType,
  valueOfName,
  VolumeAllocation,
  VolumeAllocationName,
  VolumeFormat,
  VolumeFormatName,
  VolumeLegality,
  VolumeRole,
  VolumeRoleName,
} from '@vdsm-kit/client/api';
import type { z } from 'zod';
import { BLOCK_SIZE_4K, roundUp } from '../data/sizes.js';
import { fixtureSchema } from './fixture-schema.js';
import type { ParsedData, ParsedFixture } from './fixture-schema.js';
import { DOMAIN_KIND_OF_TYPE, DomainKind } from './records.js';
import type { DomainRecord, HostRecord, PoolRecord, VolumeRecord } from './records.js';
import { blockUsedBytes } from './space.js';

const GiB = 1024 ** 3;

/** Defaults of the fields a fixture may leave out (documented in docs/fixture.md). */
export const FIXTURE_DEFAULTS = {
  masterVersion: 1,
  domainCapacity: 100 * GiB,
  /** Domain format version of current VDSM (V5). */
  domainVersion: 5,
  blockSize: 512,
  diskCapacity: 1 * GiB,
} as const;

/** One problem found in a fixture. */
export interface FixtureIssue {
  /** Where, e.g. `disks[0].volumes[1].id`; `(root)` for the whole file. */
  readonly path: string;
  readonly reason: string;
}

/** A fixture that cannot be applied; `issues` lists every problem, the message too. */
export class FixtureError extends Error {
  override name = 'FixtureError';

  constructor(
    readonly issues: readonly FixtureIssue[],
    source?: string,
  ) {
    const where = source === undefined ? '' : ` ${source}`;
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`Invalid fixture${where} (${count}):\n${issues.map((issue) => `  ${issue.path}: ${issue.reason}`).join('\n')}`);
  }
}

/** A volume to create, with its parent (created before it) and the data to write into it. */
export interface PlannedVolume {
  readonly record: VolumeRecord;
  readonly parent: VolumeRecord | undefined;
  readonly data: readonly ParsedData[];
}

/** Everything a fixture stores; volumes in creation order (every parent before its children). */
export interface FixturePlan {
  readonly pools: readonly PoolRecord[];
  readonly hosts: readonly HostRecord[];
  readonly domains: readonly DomainRecord[];
  readonly volumes: readonly PlannedVolume[];
}

/** Options of `planFixture`. */
export interface PlanOptions {
  /** `ctime` of volumes that give none, seconds since the epoch (default: now). */
  readonly ctime?: number;
  /** Named in error messages (e.g. the file path). */
  readonly source?: string;
}

/** `disks[0].volumes[1].id` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  return text === '' ? '(root)' : text;
}

/**
 * Validates a fixture and resolves it into records.
 *
 * @throws FixtureError listing every problem (schema and cross-entry rules).
 */
export function planFixture(input: unknown, options: PlanOptions = {}): FixturePlan {
  const parsed = fixtureSchema.safeParse(input, {
    error: (issue) => (issue.input === undefined ? 'is required' : undefined),
  });
  if (!parsed.success) throw new FixtureError(parsed.error.issues.map(fromZodIssue), options.source);
  const planner = new Planner(parsed.data, options.ctime ?? Math.floor(Date.now() / 1000));
  const plan = planner.plan();
  if (planner.issues.length > 0) throw new FixtureError(planner.issues, options.source);
  return plan;
}

function fromZodIssue(issue: z.core.$ZodIssue): FixtureIssue {
  return { path: formatPath(issue.path), reason: issue.message };
}

/** One pass over a parsed fixture, collecting issues instead of stopping at the first. */
class Planner {
  readonly issues: FixtureIssue[] = [];

  constructor(
    private readonly fixture: ParsedFixture,
    private readonly ctime: number,
  ) {}

  plan(): FixturePlan {
    const onlyPool = this.fixture.pools.length === 1 ? this.fixture.pools[0]?.id : undefined;
    this.checkUnique('pools', this.fixture.pools, (pool) => pool.id, 'pool');
    const hosts = this.hosts(onlyPool);
    const domains = this.domains(onlyPool);
    const pools = this.pools(hosts, domains);
    const volumes = this.volumes(domains);
    this.checkBlockSpace(domains, volumes);
    return { pools, hosts, domains, volumes };
  }

  private issue(path: readonly PropertyKey[], reason: string): void {
    this.issues.push({ path: formatPath(path), reason });
  }

  /** Reports the second and later entries whose key was seen before. */
  private checkUnique<T>(section: string, entries: readonly T[], key: (entry: T) => string | number, what: string, field = 'id'): void {
    const seen = new Map<string | number, number>();
    entries.forEach((entry, index) => {
      const value = key(entry);
      const first = seen.get(value);
      if (first === undefined) seen.set(value, index);
      else this.issue([section, index, field], `duplicate ${what} ${value} (also ${section}[${first}])`);
    });
  }

  /**
   * The pool an entry names, or the only pool when it names none; null for
   * no pool (allowed for hosts, not for domains: `required`).
   */
  private poolOf(
    named: string | null | undefined,
    path: readonly PropertyKey[],
    onlyPool: string | undefined,
    required: boolean,
  ): string | null {
    if (named === null) return null;
    if (named === undefined) {
      if (onlyPool !== undefined) return onlyPool;
      const count = this.fixture.pools.length;
      if (count > 1) this.issue(path, `is required: the fixture has ${count} pools`);
      else if (required) this.issue(path, 'is required: a domain belongs to a pool, and the fixture has none');
      return null;
    }
    if (!this.fixture.pools.some((pool) => pool.id === named)) this.issue(path, `unknown pool ${named}`);
    return named;
  }

  private hosts(onlyPool: string | undefined): HostRecord[] {
    this.checkUnique('hosts', this.fixture.hosts, (host) => host.id, 'host id');
    const hosts = this.fixture.hosts.map(
      (host, index): HostRecord => ({
        id: host.id,
        uuid: host.uuid ?? randomUUID(),
        name: host.name ?? `host-${host.id}`,
        poolId: this.poolOf(host.pool, ['hosts', index, 'pool'], onlyPool, false),
      }),
    );
    this.checkUnique('hosts', hosts, (host) => host.uuid, 'host uuid', 'uuid');
    return hosts;
  }

  private domains(onlyPool: string | undefined): DomainRecord[] {
    this.checkUnique('domains', this.fixture.domains, (domain) => domain.id, 'domain');
    const masters = new Map<string, number>();
    const domains = this.fixture.domains.map((domain, index): DomainRecord => {
      const path = ['domains', index];
      const type = domain.type ?? (domain.kind === DomainKind.Block ? StorageDomainType.Iscsi : StorageDomainType.Nfs);
      if (DOMAIN_KIND_OF_TYPE[type] !== domain.kind) {
        this.issue([...path, 'type'], `${type} is ${DOMAIN_KIND_OF_TYPE[type]} storage, not ${domain.kind}`);
      }
      if (domain.kind === DomainKind.File && domain.discard === true) {
        this.issue([...path, 'discard'], 'file domains do not support discard (VDSM refuses it with 349)');
      }
      const poolId = this.poolOf(domain.pool, [...path, 'pool'], onlyPool, true);
      if (poolId !== null && domain.role === StorageDomainRole.Master) {
        const other = masters.get(poolId);
        if (other === undefined) masters.set(poolId, index);
        else this.issue([...path, 'role'], `pool ${poolId} already has a master domain (domains[${other}])`);
      }
      return {
        id: domain.id,
        poolId: poolId ?? '',
        name: domain.name ?? `${type.toLowerCase()}-${index + 1}`,
        kind: domain.kind,
        type,
        domainClass: domain.class ?? StorageDomainClass.Data,
        role: domain.role ?? StorageDomainRole.Regular,
        status: domain.status ?? StorageDomainStatus.Active,
        version: domain.version ?? FIXTURE_DEFAULTS.domainVersion,
        capacity: domain.capacity ?? FIXTURE_DEFAULTS.domainCapacity,
        blockSize: domain.blockSize ?? FIXTURE_DEFAULTS.blockSize,
        discard: domain.discard ?? domain.kind === DomainKind.Block,
        reachable: domain.reachable ?? true,
      };
    });
    // A pool without an explicit master gets its first domain as master.
    return domains.map((domain) =>
      domain.poolId !== '' && !masters.has(domain.poolId) && domains.find((d) => d.poolId === domain.poolId) === domain
        ? { ...domain, role: StorageDomainRole.Master }
        : domain,
    );
  }

  private pools(hosts: readonly HostRecord[], domains: readonly DomainRecord[]): PoolRecord[] {
    return this.fixture.pools.map((pool, index): PoolRecord => {
      const path = ['pools', index];
      const master = domains.find((domain) => domain.poolId === pool.id && domain.role === StorageDomainRole.Master);
      if (master === undefined) this.issue(path, 'has no domain; a pool needs one (its master domain)');
      const members = hosts.filter((host) => host.poolId === pool.id).map((host) => host.id);
      let spm: number | null;
      if (pool.spm === undefined) {
        spm = members.length > 0 ? Math.min(...members) : null;
      } else {
        spm = pool.spm;
        if (spm !== null && !members.includes(spm)) this.issue([...path, 'spm'], `host ${spm} is not a host of this pool`);
      }
      return {
        id: pool.id,
        name: pool.name ?? `pool-${index + 1}`,
        masterDomainId: master?.id ?? '',
        masterVersion: pool.masterVersion ?? FIXTURE_DEFAULTS.masterVersion,
        spmHostId: spm,
        // As after one spmStart on a fresh pool: VDSM sets lver = previous + 1, from LVER_INVALID.
        lver: pool.lver ?? (spm === null ? LVER_INVALID : LVER_INVALID + 1),
      };
    });
  }

  private volumes(domains: readonly DomainRecord[]): PlannedVolume[] {
    const planned: PlannedVolume[] = [];
    // Per domain: the volumes defined so far (for duplicates and template parents) and the images seen.
    const volumesOn = new Map<string, Map<string, DefinedVolume>>();
    const imagesOn = new Map<string, Map<string, number>>();

    this.fixture.disks.forEach((disk, diskIndex) => {
      const domain = domains.find((candidate) => candidate.id === disk.domain);
      if (domain === undefined) {
        this.issue(['disks', diskIndex, 'domain'], `unknown domain ${disk.domain}`);
        return;
      }
      const images = getOrAdd(imagesOn, domain.id, () => new Map<string, number>());
      const sameImage = images.get(disk.id);
      if (sameImage === undefined) images.set(disk.id, diskIndex);
      else this.issue(['disks', diskIndex, 'id'], `image ${disk.id} is already on domain ${domain.id} (disks[${sameImage}])`);

      const known = getOrAdd(volumesOn, domain.id, () => new Map<string, DefinedVolume>());
      let previous: VolumeRecord | undefined;
      disk.volumes.forEach((volume, volumeIndex) => {
        const path = ['disks', diskIndex, 'volumes', volumeIndex];
        const plannedVolume = this.volume(domain, disk, volume, volumeIndex, path, previous, known);
        planned.push(plannedVolume);
        previous = plannedVolume.record;
      });
    });
    return planned;
  }

  /** `volume`, number `index` of `disk`'s chain: its chain rules, defaults and data bounds. */
  private volume(
    domain: DomainRecord,
    disk: ParsedDisk,
    volume: ParsedVolume,
    index: number,
    path: readonly PropertyKey[],
    previous: VolumeRecord | undefined,
    known: Map<string, DefinedVolume>,
  ): PlannedVolume {

    // The parent: the volume before, or for the first one an optional template volume.
    let parent = previous;
    if (volume.parent !== undefined && index > 0) {
      this.issue([...path, 'parent'], 'only the first volume names a parent; each later one sits on the volume before it');
    } else if (volume.parent !== undefined) {
      parent = known.get(volume.parent)?.record;
      if (parent === undefined) {
        this.issue([...path, 'parent'], `unknown volume ${volume.parent} on domain ${domain.id} (list the template disk first)`);
      }
    }
    const duplicate = known.get(volume.id);
    if (duplicate !== undefined) this.issue([...path, 'id'], `volume ${volume.id} is already on domain ${domain.id} (${duplicate.path})`);

    const hasParent = volume.parent !== undefined || previous !== undefined;
    const format = nameToValue(VolumeFormatName, volume.format) ?? (hasParent ? VolumeFormat.COW : VolumeFormat.RAW);
    if (hasParent && format !== VolumeFormat.COW) this.issue([...path, 'format'], 'a volume with a parent must be COW');
    const rawOnBlock = domain.kind === DomainKind.Block && format === VolumeFormat.RAW;
    const allocation =
      nameToValue(VolumeAllocationName, volume.allocation) ?? (rawOnBlock ? VolumeAllocation.Preallocated : VolumeAllocation.Sparse);
    if (rawOnBlock && allocation === VolumeAllocation.Sparse) {
      this.issue([...path, 'allocation'], 'a RAW volume on a block domain must be PREALLOCATED (VDSM refuses sparse RAW there)');
    }

    // Rounded up to 4 KiB, as VDSM's volume.create rounds the capacity it is given.
    const capacity = roundUp(volume.capacity ?? disk.capacity ?? parent?.capacity ?? FIXTURE_DEFAULTS.diskCapacity, BLOCK_SIZE_4K);
    if (capacity === 0) this.issue([...path, 'capacity'], 'must be at least 1 byte');
    if (parent !== undefined && capacity < parent.capacity) {
      this.issue([...path, 'capacity'], `${capacity} is smaller than the parent's capacity ${parent.capacity}`);
    }
    const data = volume.data ?? [];
    data.forEach((entry, dataIndex) => {
      const end = entry.offset + entry.length;
      if (end > capacity) this.issue([...path, 'data', dataIndex], `ends at byte ${end}, past the volume's capacity ${capacity}`);
    });

    const record: VolumeRecord = {
      domainId: domain.id,
      id: volume.id,
      imageId: disk.id,
      parentId: parent?.id ?? volume.parent ?? BLANK_UUID,
      format,
      allocation,
      role: nameToValue(VolumeRoleName, volume.role) ?? (index === disk.volumes.length - 1 ? VolumeRole.Leaf : VolumeRole.Internal),
      diskType: disk.diskType ?? DiskType.Data,
      capacity,
      legality: volume.legality ?? VolumeLegality.Legal,
      generation: volume.generation ?? 0,
      description: volume.description ?? disk.description ?? '',
      ctime: volume.ctime ?? this.ctime,
      removed: false,
    };
    if (duplicate === undefined) known.set(volume.id, { record, path: formatPath(path) });
    return { record, parent, data };
  }

  /** A VG cannot hand out more extents than it has. */
  private checkBlockSpace(domains: readonly DomainRecord[], volumes: readonly PlannedVolume[]): void {
    domains.forEach((domain, index) => {
      if (domain.kind !== DomainKind.Block) return;
      const used = blockUsedBytes(volumes.filter((volume) => volume.record.domainId === domain.id).map((volume) => volume.record));
      if (used > domain.capacity) {
        this.issue(
          ['domains', index, 'capacity'],
          `its volumes need ${used} bytes in whole 128 MiB extents, more than its capacity ${domain.capacity}`,
        );
      }
    });
  }
}

type ParsedDisk = ParsedFixture['disks'][number];
type ParsedVolume = ParsedDisk['volumes'][number];

/** A volume seen on a domain, and where in the fixture. */
interface DefinedVolume {
  readonly record: VolumeRecord;
  readonly path: string;
}

/** The value of `key`, added by `make` when missing. */
function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** The VDSM int for a name the schema already checked, or undefined when not given. */
function nameToValue<V extends number, N extends string>(names: Readonly<Record<V, N>>, name: N | undefined): V | undefined {
  return name === undefined ? undefined : valueOfName(names, name);
}
