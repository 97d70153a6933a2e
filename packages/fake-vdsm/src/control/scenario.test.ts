import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ScenarioError, parseScenario, readScenarioFile } from './scenario.js';

describe('scenario files', () => {
  it('reads fixture, faults and seed, validating every rule', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fake-vdsm-scenario-'));
    try {
      const path = join(dir, 's.json');
      await writeFile(path, JSON.stringify({ seed: 3, faults: [{ match: { method: 'Image.move' }, action: { error: 851 }, times: 2 }] }));
      const scenario = await readScenarioFile(path);
      expect(scenario.seed).to.equal(3);
      expect(scenario.faults).to.deep.equal([{ match: { method: 'Image.move' }, action: { error: 851 }, times: 2 }]);
      expect(scenario.fixture).to.equal(undefined);
      await writeFile(path, '{nope');
      expect(await readScenarioFile(path).catch((error: unknown) => error)).to.be.instanceOf(ScenarioError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the bad rule or key', () => {
    expect(() => parseScenario({ faults: [{ match: {}, action: { explode: 1 } }] }, 'x.json')).to.throw(ScenarioError, /x\.json: faults\[0\]/);
    expect(() => parseScenario({ seeds: 1 }, 'x.json')).to.throw(ScenarioError, /x\.json/);
    expect(() => parseScenario({ seed: -1 })).to.throw(ScenarioError, /seed/);
  });
});
