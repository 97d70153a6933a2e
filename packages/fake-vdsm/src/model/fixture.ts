/**
 * Fixtures (docs/fixture.md): a JSON file that seeds pools, hosts, domains
 * and disks, data included. `applyFixture` validates the whole fixture
 * first, then has the data plane create the volume files and write their
 * data, then stores every row in one transaction. Files before rows: a crash
 * while seeding leaves at most files without rows (which recovery removes),
 * never a row without its file, and an empty database that seeds again.
 */
import { readFile } from 'node:fs/promises';
import type { FixtureInput, ParsedData } from './fixture-schema.js';
import { FixtureError, planFixture } from './fixture-plan.js';
import type { FixturePlan } from './fixture-plan.js';
import type { DomainRecord, VolumeRecord } from './records.js';
import type { StateStore } from './store.js';

export { FixtureError, FIXTURE_DEFAULTS, formatPath, planFixture } from './fixture-plan.js';
export type { FixtureIssue, FixturePlan, PlannedVolume, PlanOptions } from './fixture-plan.js';
export { fixtureSchema, parseByteSize } from './fixture-schema.js';
export type { FixtureInput, ParsedData, ParsedFixture } from './fixture-schema.js';

/**
 * What `applyFixture` needs from the data plane (the integrator wires it to
 * data/: `volumePath`, `createRaw` / `createQcow2`, `writeData`). Calls come
 * one at a time, each awaited, parents before children.
 */
export interface FixtureFiles {
  /**
   * Creates the volume's file (RAW sparse or preallocated, COW as qcow2 on
   * `parent` when it has one), replacing any file already there so that
   * seeding twice gives the same result.
   */
  createVolume(domain: DomainRecord, volume: VolumeRecord, parent?: VolumeRecord): Promise<void>;
  /**
   * Writes `bytes` at guest `offset` of the volume. `bytes` is reused for the
   * next call once the promise settles: copy it to keep it.
   */
  writeData(domain: DomainRecord, volume: VolumeRecord, offset: number, bytes: Buffer): Promise<void>;
}

/** Options of `applyFixture`. */
export interface ApplyFixtureOptions {
  /** `ctime` of volumes that give none, seconds since the epoch (default: now). */
  readonly ctime?: number;
  /** Named in error messages (e.g. the file path). */
  readonly source?: string;
}

/** Largest buffer handed to `writeData`: a 1 GiB pattern is written in pieces, not held in memory. */
export const MAX_WRITE_CHUNK = 4 * 1024 * 1024;

/**
 * Seeds `store` (and, through `files`, the disk) from a fixture. Pools,
 * hosts and domains are upserted; volumes replace rows with the same
 * (domain, id). Applying the same fixture again gives the same state.
 *
 * @returns the records stored.
 * @throws FixtureError before anything is written when the fixture is invalid;
 *   whatever `files` throws (rows are then not written).
 */
export async function applyFixture(
  store: StateStore,
  fixture: FixtureInput,
  files: FixtureFiles,
  options: ApplyFixtureOptions = {},
): Promise<FixturePlan> {
  const plan = planFixture(fixture, options);
  const domainsById = new Map(plan.domains.map((domain) => [domain.id, domain]));

  for (const { record, parent, data } of plan.volumes) {
    // The plan only holds volumes of its own domains.
    const domain = domainsById.get(record.domainId) as DomainRecord;
    await files.createVolume(domain, record, parent);
    for (const entry of data) {
      for (const [offset, bytes] of dataChunks(entry)) await files.writeData(domain, record, offset, bytes);
    }
  }

  store.transaction(() => {
    for (const pool of plan.pools) store.upsertPool(pool);
    for (const host of plan.hosts) store.upsertHost(host);
    for (const domain of plan.domains) store.upsertDomain(domain);
    for (const { record } of plan.volumes) {
      store.deleteVolume(record.domainId, record.id);
      store.insertVolume(record);
    }
  });
  return plan;
}

/**
 * The writes of one data entry, at most `MAX_WRITE_CHUNK` bytes each. The
 * chunk is a whole number of pattern periods, so consecutive chunks continue
 * the pattern seamlessly; one buffer serves every write.
 */
export function* dataChunks(entry: ParsedData): Generator<[offset: number, bytes: Buffer]> {
  const period = entry.bytes.length;
  const chunkLength = Math.min(entry.length, Math.max(period, Math.floor(MAX_WRITE_CHUNK / period) * period));
  const chunk = Buffer.alloc(chunkLength, entry.bytes);
  for (let done = 0; done < entry.length; done += chunkLength) {
    yield [entry.offset + done, chunk.subarray(0, Math.min(chunkLength, entry.length - done))];
  }
}

/**
 * Reads and validates a fixture file (for `fake-vdsm serve --fixture FILE`),
 * so a bad file is refused before the fake starts.
 *
 * @throws FixtureError for unparsable JSON or an invalid fixture (the message names the file);
 *   the read error (ENOENT, ...) as is.
 */
export async function readFixtureFile(path: string): Promise<FixtureInput> {
  const text = await readFile(path, 'utf8');
  let fixture: FixtureInput;
  try {
    fixture = JSON.parse(text) as FixtureInput;
  } catch (error) {
    throw new FixtureError([{ path: '(root)', reason: `is not valid JSON: ${(error as Error).message}` }], path);
  }
  planFixture(fixture, { source: path });
  return fixture;
}
