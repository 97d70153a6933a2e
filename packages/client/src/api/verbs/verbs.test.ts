import { expect } from 'chai';
import type { z } from 'zod';
import { BLANK_UUID } from '../constants.js';
import { SCHEMA_METHODS, SCHEMA_PARAMS } from '../schema-methods.js';
import type { SchemaMethod } from '../schema-methods.js';
import { TaskIdSchema } from '../types.js';
import { VERBS, isVdsmMethod } from './index.js';
import type { VdsmMethod } from './index.js';

const METHODS = Object.keys(VERBS) as VdsmMethod[];
const IMG = '0f1e2d3c-4b5a-4697-8877-665544332211';
const SP = '11111111-2222-4333-8444-555555555555';
const SD = '5e5a6f0b-6c4e-4e3a-9b8e-2f1d7c3a4b21';
const DST = 'aaaaaaaa-bbbb-4ccc-9ddd-eeeeeeeeeeee';

function field(method: VdsmMethod, name: string): z.ZodType {
  const shape: Record<string, z.ZodType> = VERBS[method].params.shape;
  const schema = shape[name];
  if (schema === undefined) throw new Error(`${method} has no param ${name}`);
  return schema;
}

function schemaParams(method: VdsmMethod) {
  expect(SCHEMA_METHODS as readonly string[], method).to.include(method);
  return SCHEMA_PARAMS[method as SchemaMethod];
}

describe('verb table', () => {
  it('has every verb the typed API promises', () => {
    expect([...METHODS].sort()).to.deep.equal(
      [
        'Host.ping2', 'Host.echo', 'Host.getCapabilities', 'Host.getAllTasksStatuses', 'Host.getAllTasksInfo', 'Host.getAllTasks',
        'Host.getConnectedStoragePools', 'Host.getStorageDomains', 'Host.getJobs',
        'StoragePool.connect', 'StoragePool.disconnect', 'StoragePool.getInfo', 'StoragePool.getSpmStatus', 'StoragePool.spmStart',
        'StoragePool.spmStop',
        'StorageDomain.getInfo', 'StorageDomain.getStats', 'StorageDomain.getImages', 'StorageDomain.getVolumes',
        'Image.getVolumes', 'Image.move', 'Image.delete', 'Image.deleteVolumes', 'Image.cloneStructure', 'Image.syncData',
        'Volume.create', 'Volume.getInfo', 'Volume.copy', 'Volume.delete',
        'Task.getStatus', 'Task.getInfo', 'Task.clear', 'Task.stop', 'Task.revert',
        'SDM.copy_data', 'SDM.update_volume',
      ].sort(),
    );
    expect(isVdsmMethod('Image.move')).to.equal(true);
    expect(isVdsmMethod('Image.nope')).to.equal(false);
    expect(isVdsmMethod('toString')).to.equal(false);
  });

  it('names the params exactly as vdsm-api.yml, in its order', () => {
    for (const method of METHODS) {
      const expected = schemaParams(method).map((p) => p.name);
      expect(Object.keys(VERBS[method].params.shape), method).to.deep.equal(expected);
    }
  });

  it("makes a param optional exactly when the schema has a default, and fills that default", () => {
    for (const method of METHODS) {
      for (const param of schemaParams(method)) {
        const result = field(method, param.name).safeParse(undefined);
        const where = `${method}.${param.name}`;
        if ('default' in param) {
          expect(result.success, where).to.equal(true);
          // The schema writes Python's empty tuple as '()'; on the wire it is an empty list.
          expect(result.data, where).to.deep.equal(param.default === '()' ? [] : param.default);
        } else {
          expect(result.success, where).to.equal(false);
        }
      }
    }
  });

  it('validates UUID params as UUIDs, accepting any 8-4-4-4-12 hex like Python uuid.UUID', () => {
    let checked = 0;
    for (const method of METHODS) {
      for (const param of schemaParams(method)) {
        const schema = field(method, param.name);
        const where = `${method}.${param.name}`;
        if (method.startsWith('Task.') && param.name === 'taskID') {
          // VDSM's Task.validateID takes any string but '' or one with a dot, which the task manager refuses (1000).
          for (const good of [IMG, 'no-such-task', '']) expect(schema.safeParse(good).success, `${where} ${good}`).to.equal(true);
          expect(schema.safeParse(42).success, `${where} 42`).to.equal(false);
          checked++;
        } else if (param.type === 'UUID') {
          for (const good of [BLANK_UUID, '11111111-1111-1111-1111-111111111111', IMG.toUpperCase()]) {
            expect(schema.safeParse(good).success, `${where} ${good}`).to.equal(true);
          }
          for (const bad of ['', 'abc', `${IMG}x`, IMG.replaceAll('-', ''), 42]) {
            expect(schema.safeParse(bad).success, `${where} ${String(bad)}`).to.equal(false);
          }
          checked++;
        } else if (param.type === 'UUID[]') {
          expect(schema.safeParse([IMG, BLANK_UUID]).success, where).to.equal(true);
          expect(schema.safeParse([IMG, 'x']).success, where).to.equal(false);
          checked++;
        }
      }
    }
    expect(checked).to.be.greaterThan(60);
  });

  it('takes JSON ints for int params and JSON booleans for boolean params', () => {
    for (const method of METHODS) {
      for (const param of schemaParams(method)) {
        const schema = field(method, param.name);
        const where = `${method}.${param.name}`;
        if (param.type === 'int') {
          expect(schema.safeParse(3).success, where).to.equal(true);
          expect(schema.safeParse('3').success, where).to.equal(false);
          expect(schema.safeParse(1.5).success, where).to.equal(false);
        } else if (param.type === 'boolean') {
          expect(schema.safeParse(true).success, where).to.equal(true);
          expect(schema.safeParse('yes').success, where).to.equal(false);
        }
      }
    }
  });

  it('takes the ints VDSM compares for the enums the schema types as strings (§10.1, §10.2)', () => {
    const ints: Array<[VdsmMethod, string, number[], unknown[]]> = [
      ['Image.move', 'operation', [1, 2], [0, 3, 'COPY', 'copy', '1']],
      ['Volume.copy', 'volType', [6, 7, 8], [5, 'LEAF']],
      ['Volume.copy', 'volFormat', [4, 5], [3, 'COW', 'RAW']],
      ['Volume.copy', 'preallocate', [1, 2], [0, 'SPARSE']],
      ['Volume.create', 'volFormat', [4, 5], [3, 'COW']],
      ['Volume.create', 'preallocate', [1, 2], [3, 'PREALLOCATED']],
      ['Host.getStorageDomains', 'domainClass', [1, 2, 3], ['Data', 0]],
      ['Host.getStorageDomains', 'storageType', [0, 1, 7], ['NFS', 8]],
    ];
    for (const [method, name, good, bad] of ints) {
      const schema = field(method, name);
      for (const value of good) expect(schema.parse(value), `${method}.${name} ${value}`).to.equal(value);
      for (const value of bad) expect(schema.safeParse(value).success, `${method}.${name} ${String(value)}`).to.equal(false);
    }
  });

  it('sends the string-typed ints and booleans as strings (§10.6) and sizes as strings', () => {
    const spmStart = VERBS['StoragePool.spmStart'].params;
    const wire = spmStart.parse({ storagepoolID: SP, prevID: -1, prevLver: -1, enableScsiFencing: false, domVersion: 5 });
    expect(wire).to.deep.equal({
      storagepoolID: SP,
      prevID: -1,
      prevLver: '-1',
      enableScsiFencing: 'false',
      maxHostID: null,
      domVersion: '5',
    });
    expect(spmStart.parse({ storagepoolID: SP, prevID: 2, prevLver: '7', enableScsiFencing: 'true' })).to.include({
      prevLver: '7',
      enableScsiFencing: 'true',
      domVersion: null,
    });
    expect(spmStart.safeParse({ storagepoolID: SP, prevID: 2, prevLver: 'x', enableScsiFencing: true }).success).to.equal(false);
    expect(spmStart.safeParse({ storagepoolID: SP, prevID: 2, prevLver: 1, enableScsiFencing: 'yes' }).success).to.equal(false);

    const size = field('Volume.create', 'size');
    expect(size.parse(1073741824)).to.equal('1073741824');
    expect(size.parse(2n ** 40n)).to.equal('1099511627776');
    expect(size.parse('4096')).to.equal('4096');
    for (const bad of [-1, '-1', '1e9', 1.5]) expect(size.safeParse(bad).success, String(bad)).to.equal(false);
  });

  it("takes StoragePool.connect's domainDict by domain UUID, in either status spelling", () => {
    const domainDict = field('StoragePool.connect', 'domainDict');
    expect(domainDict.parse({ [SD]: 'active', [DST]: 'Attached' })).to.deep.equal({ [SD]: 'active', [DST]: 'Attached' });
    expect(domainDict.safeParse({ 'not-a-uuid': 'active' }).success).to.equal(false);
    expect(domainDict.safeParse({ [SD]: 'bogus' }).success).to.equal(false);
  });

  it('outputs every param in schema order with defaults filled in', () => {
    const wire = VERBS['Image.move'].params.parse({
      force: false,
      operation: 1,
      dstSdUUID: DST,
      postZero: false,
      storagedomainID: SD,
      storagepoolID: SP,
      imageID: IMG,
    });
    expect(Object.keys(wire)).to.deep.equal(['imageID', 'storagepoolID', 'storagedomainID', 'dstSdUUID', 'operation', 'postZero', 'force', 'discard']);
    expect(wire.discard).to.equal(false);
    expect(VERBS['Host.getStorageDomains'].params.parse({})).to.deep.equal({
      storagepoolID: null,
      domainClass: null,
      storageType: null,
      remotePath: null,
    });
  });

  it('refuses unknown keys, since VDSM would silently ignore a misspelt param', () => {
    const result = VERBS['Task.clear'].params.safeParse({ taskID: IMG, taskId: IMG });
    expect(result.success).to.equal(false);
    expect(result.error?.issues[0]?.code).to.equal('unrecognized_keys');
  });

  it('flags exactly the verbs that answer a task id, with their task verb', () => {
    const taskMethods = METHODS.filter((method) => VERBS[method].returnsTask);
    expect(taskMethods.sort()).to.deep.equal(
      [
        'Image.cloneStructure', 'Image.delete', 'Image.deleteVolumes', 'Image.move', 'Image.syncData',
        'StoragePool.spmStart', 'Volume.copy', 'Volume.create', 'Volume.delete',
      ].sort(),
    );
    for (const method of METHODS) {
      const verb = VERBS[method];
      expect(verb.result === TaskIdSchema, method).to.equal(verb.returnsTask);
      expect(typeof verb.taskVerb === 'string', method).to.equal(verb.returnsTask);
    }
    expect(VERBS['Image.move'].taskVerb).to.equal('moveImage');
    expect(VERBS['Image.delete'].taskVerb).to.equal('deleteImage');
    expect(VERBS['Volume.copy'].taskVerb).to.equal('copyImage');
  });
});

describe("the engine's wire format (engine-move.md 1.3)", () => {
  const move = { imageID: IMG, storagepoolID: SP, storagedomainID: SD, dstSdUUID: DST, operation: 1 };

  it('takes postZero and force as "true"/"false" strings, as the engine sends them, and yields booleans', () => {
    const parsed = VERBS['Image.move'].params.parse({ ...move, postZero: 'false', force: 'TRUE' });
    expect(parsed).to.deep.include({ postZero: false, force: true, discard: false });
    const deleted = VERBS['Image.delete'].params.parse({ imageID: IMG, storagepoolID: SP, storagedomainID: SD, postZero: 'true', force: 'false' });
    expect(deleted).to.deep.include({ postZero: true, force: false });
  });

  it('refuses any other string, where VDSM would silently read false', () => {
    expect(VERBS['Image.move'].params.safeParse({ ...move, postZero: 'yes', force: false }).success).to.equal(false);
  });
});
