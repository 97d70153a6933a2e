import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SCHEMA_METHODS, SCHEMA_PARAMS } from './schema-methods.js';
import { skipUnless } from '@vdsm-kit/test-support/skip';

const script = fileURLToPath(new URL('../../scripts/gen-schema-methods.mjs', import.meta.url));
const reference = fileURLToPath(new URL('../../../../../shared/reference/vdsm-api.yml', import.meta.url));

describe('SCHEMA_METHODS (generated from vdsm-api.yml)', () => {
  it('lists every schema method once, sorted, each with its params', () => {
    expect(SCHEMA_METHODS.length).to.equal(205);
    expect([...SCHEMA_METHODS]).to.deep.equal([...new Set(SCHEMA_METHODS)].sort());
    for (const method of ['Host.ping2', 'Host.ping', 'Image.move', 'SDM.copy_data', 'Task.clear', 'VM.create']) {
      expect(SCHEMA_METHODS as readonly string[]).to.include(method);
    }
    expect(SCHEMA_METHODS as readonly string[]).not.to.include('SDM.purge_volume');
    expect(Object.keys(SCHEMA_PARAMS).sort()).to.deep.equal([...SCHEMA_METHODS]);
    expect(SCHEMA_PARAMS['Host.ping2']).to.deep.equal([]);
    expect(SCHEMA_PARAMS['Image.move'].at(-1)).to.deep.equal({ name: 'discard', type: 'boolean', default: false });
    expect(SCHEMA_PARAMS['StoragePool.spmStart'][2]).to.deep.equal({ name: 'prevLver', type: 'string', datatype: 'int' });
  });

  it('is up to date with the reference schema', async function () {
    // The schema copy lives beside the repository, not in it.
    skipUnless(this, existsSync(reference), `VDSM's schema is not beside the repository (${reference})`);
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--check', '--schema', reference]);
    expect(stdout).to.match(/up to date \(205 methods\)/);
  });
});
