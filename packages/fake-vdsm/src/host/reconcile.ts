/**
 * The startup pass that puts volume files and volume rows back in step after
 * a crash: afterwards every volume file under `<state>/<sd>/images/` has its
 * row and every row has its file (bar the violations below, which are
 * reported, never papered over). It runs after the task recovery, so the
 * rollbacks have already removed what interrupted jobs left half made, and
 * before any host serves a call.
 *
 * Which side wins, case by case, and why:
 *
 * | found                                                  | action                          | why |
 * | ------------------------------------------------------ | ------------------------------- | --- |
 * | a file with no row (or a row of another image)         | remove the file                 | the fake writes files before rows when it creates (fixture, volume creation, copy targets), so such a file is a creation that never committed; no verb can see it, it only holds space |
 * | a file in `_remove_me_<img>` whose row is still live   | mark the row removed            | a delete renames the folder first and marks the rows next; the rename is VDSM's commit point (on a file domain the folder name IS the metadata), so the delete is finished, not undone |
 * | a file in the live folder whose row says removed       | remove the file, then the row   | the row was marked removed, so the delete had committed; VDSM never rolls a delete back, so it is completed (purged) |
 * | a removed row whose file is gone                       | delete the row                  | a purge removes the file, then the row; the crash fell in between |
 * | an ILLEGAL row whose file is gone                      | delete the row                  | ILLEGAL means the operation that made it never completed: there is nothing a reader may use, so no data is lost |
 * | a LEGAL or FAKE row whose file is gone                 | keep the row, log an error      | no sequence of the fake's own writes leaves this: the data is lost (deleted by hand, or a bug); recreating an empty file would hide it behind wrong data, deleting the row would silently cut a chain. It is returned in `violations` |
 * | a `_remove_me_` folder on a file domain (after the above) | remove its files and rows    | VDSM's `imageGarbageCollector` removes these remnants when the domain is produced, i.e. at startup; nothing would ever purge them otherwise |
 * | a name that is not ours (not a UUID, not `_remove_me_*`) | leave it, log a warning       | never delete what the fake did not make |
 *
 * Block domains keep their `_remove_me_` / `_remove_me_ZERO_` remnants (row
 * and file both): VDSM's LVs keep their tags after a crash too, and keep
 * holding their extents.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VolumeLegality } from '@vdsm-kit/client/api';
import { UUID_PATTERN, imageDir, imagesDir, parseImageDirName, removedImageDir, volumePath, zeroedImageDir } from '../data/layout.js';
import type { ImageDirEntry } from '../data/layout.js';
import { removeVolumeFile } from '../data/volume-files.js';
import type { Logger } from '../logger.js';
import type { DomainRecord, VolumeRecord } from '../model/records.js';
import { DomainKind } from '../model/records.js';
import type { StateStore } from '../model/store.js';
import { isFile } from '../storage/volume-locations.js';
import { isEmptyDir, removeEmptyDir } from '../storage/volume-removal.js';

/** A volume named by its domain and id. */
export interface VolumeKey {
  readonly domainId: string;
  readonly imageId: string;
  readonly volumeId: string;
}

/** What the pass did (every list is empty on a consistent state folder). */
export interface ReconcileReport {
  /** Files removed because no row claimed them (absolute paths). */
  readonly removedFiles: readonly string[];
  /** Live rows marked removed because their file was already in `_remove_me_<img>`. */
  readonly markedRemoved: readonly VolumeKey[];
  /** Rows deleted because their file was gone (removed or ILLEGAL volumes). */
  readonly deletedRows: readonly VolumeKey[];
  /** Volumes of file-domain `_remove_me_` folders garbage-collected (file and row). */
  readonly collected: readonly VolumeKey[];
  /** LEGAL or FAKE rows whose file is gone: kept, logged as errors. */
  readonly violations: readonly VolumeKey[];
  /** Entries left alone because the fake does not make such names (absolute paths). */
  readonly unknownEntries: readonly string[];
}

/** What the pass works on. */
export interface ReconcileOptions {
  readonly stateDir: string;
  readonly store: StateStore;
  readonly logger: Logger;
}

/** Runs the pass over every domain of the store (see the module comment). */
export async function reconcileStateDir({ stateDir, store, logger }: ReconcileOptions): Promise<ReconcileReport> {
  const log = logger.child({ component: 'reconcile' });
  const report: MutableReport = { removedFiles: [], markedRemoved: [], deletedRows: [], collected: [], violations: [], unknownEntries: [] };
  for (const domain of store.listDomains()) {
    await reconcileFiles(stateDir, store, domain, report, log);
    await reconcileRows(stateDir, store, domain, report, log);
    if (domain.kind === DomainKind.File) await collectRemovedImages(stateDir, store, domain, report, log);
  }
  const changed = report.removedFiles.length + report.markedRemoved.length + report.deletedRows.length + report.collected.length;
  if (changed > 0 || report.violations.length > 0) {
    log.info(
      {
        removedFiles: report.removedFiles.length,
        markedRemoved: report.markedRemoved.length,
        deletedRows: report.deletedRows.length,
        collected: report.collected.length,
        violations: report.violations.length,
      },
      'State folder reconciled with the database',
    );
  }
  return report;
}

/** The report while it is being filled. */
interface MutableReport {
  removedFiles: string[];
  markedRemoved: VolumeKey[];
  deletedRows: VolumeKey[];
  collected: VolumeKey[];
  violations: VolumeKey[];
  unknownEntries: string[];
}

/** Pass 1: every file under the domain's `images` folder against its row. */
async function reconcileFiles(stateDir: string, store: StateStore, domain: DomainRecord, report: MutableReport, log: Logger): Promise<void> {
  const images = imagesDir(stateDir, domain.id);
  for (const name of await listDir(images)) {
    const entry = parseImageDirName(name);
    const dir = join(images, name);
    if (entry === undefined || (await isFile(dir))) {
      unknown(dir, report, log);
      continue;
    }
    for (const file of await listDir(dir)) {
      const path = join(dir, file);
      if (!UUID_PATTERN.test(file) || !(await isFile(path))) {
        unknown(path, report, log);
        continue;
      }
      await reconcileFile(stateDir, store, domain, entry, file, path, report, log);
    }
    // A folder emptied here (or left empty by a rollback) is a leftover, unless live rows still name the image.
    const liveRows = entry.kind === 'image' ? store.listVolumes(domain.id, entry.imgUUID).length : 0;
    if (liveRows === 0 && (await isEmptyDir(dir))) await removeEmptyDir(dir);
  }
}

async function reconcileFile(
  stateDir: string,
  store: StateStore,
  domain: DomainRecord,
  entry: ImageDirEntry,
  volumeId: string,
  path: string,
  report: MutableReport,
  log: Logger,
): Promise<void> {
  const row = store.getVolume(domain.id, volumeId);
  const key: VolumeKey = { domainId: domain.id, imageId: entry.imgUUID, volumeId };
  if (row !== undefined && row.imageId === entry.imgUUID) {
    const inLiveFolder = entry.kind === 'image';
    if (inLiveFolder !== row.removed) return; // Where its row says it is.
    if (!inLiveFolder && !row.removed) {
      // The folder was renamed `_remove_me_`, the rows not marked yet: finish the delete.
      // Unless the live folder holds the volume too (a newer copy): then this one is the stray.
      if (!(await isFile(volumePath(stateDir, domain.id, row.imageId, row.id)))) {
        store.updateVolume(domain.id, volumeId, { removed: true });
        report.markedRemoved.push(key);
        log.warn({ ...key, path }, 'Volume file found in a removed image folder: its row is marked removed');
        return;
      }
    }
  }
  await removeVolumeFile(path);
  report.removedFiles.push(path);
  log.warn({ ...key, path, row: row === undefined ? 'none' : row.removed ? 'removed' : `of image ${row.imageId}` }, 'Volume file without its row removed');
}

/** Pass 2: every row of the domain (removed ones too) against its file. */
async function reconcileRows(stateDir: string, store: StateStore, domain: DomainRecord, report: MutableReport, log: Logger): Promise<void> {
  for (const volume of store.listVolumes(domain.id, undefined, { includeRemoved: true })) {
    if (await hasFileWhereRowSays(stateDir, volume)) continue;
    const key: VolumeKey = { domainId: domain.id, imageId: volume.imageId, volumeId: volume.id };
    if (volume.removed || volume.legality === VolumeLegality.Illegal) {
      store.deleteVolume(domain.id, volume.id);
      report.deletedRows.push(key);
      log.warn({ ...key, removed: volume.removed, legality: volume.legality }, 'Volume row without its file deleted');
    } else {
      report.violations.push(key);
      log.error(
        { ...key, legality: volume.legality },
        'INVARIANT VIOLATED: a volume row has no file (its data is lost); the row is kept so the loss stays visible',
      );
    }
  }
}

/** Pass 3 (file domains): VDSM's image garbage collector for `_remove_me_` folders. */
async function collectRemovedImages(stateDir: string, store: StateStore, domain: DomainRecord, report: MutableReport, log: Logger): Promise<void> {
  const images = imagesDir(stateDir, domain.id);
  for (const name of await listDir(images)) {
    const entry = parseImageDirName(name);
    if (entry === undefined || entry.kind === 'image') continue;
    const dir = join(images, name);
    for (const volume of store.listVolumes(domain.id, entry.imgUUID, { includeRemoved: true })) {
      if (!volume.removed) continue;
      // Files first, then the row: a crash in between is a removed row without its file, handled above next time.
      await removeVolumeFile(join(dir, volume.id));
      store.deleteVolume(domain.id, volume.id);
      report.collected.push({ domainId: domain.id, imageId: entry.imgUUID, volumeId: volume.id });
    }
    if (await isEmptyDir(dir)) {
      await removeEmptyDir(dir);
      log.info({ domainId: domain.id, imageId: entry.imgUUID }, 'Removed image folder garbage-collected');
    }
  }
}

/**
 * True when the volume's file is where its row puts it: the image folder for
 * a live volume, `_remove_me_<img>` or `_remove_me_ZERO_<img>` for a removed
 * one (pass 1 has moved every row to where its file is).
 */
async function hasFileWhereRowSays(stateDir: string, volume: VolumeRecord): Promise<boolean> {
  const { domainId, imageId, id } = volume;
  const dirs = volume.removed
    ? [removedImageDir(stateDir, domainId, imageId), zeroedImageDir(stateDir, domainId, imageId)]
    : [imageDir(stateDir, domainId, imageId)];
  for (const dir of dirs) if (await isFile(join(dir, id))) return true;
  return false;
}

function unknown(path: string, report: MutableReport, log: Logger): void {
  report.unknownEntries.push(path);
  log.warn({ path }, 'Entry the fake did not make left alone');
}

/** The names in `dir`, sorted; none when it does not exist. */
async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw error;
  }
}
