import { expect } from 'chai';
import { InvalidParamsError } from '../api/invalid-params.js';
import { parseParamArgs, mergeParams } from './args.js';
import { describeInvalidParams, describeKnownVerbs, describeVerbParams, prepareParams } from './params.js';

const IMG = '5d1c2a8e-0b1f-4a52-9a6e-1f0c6c2b8f11';
const POOL = '8a6e0c55-4b7c-4f1e-9f4e-0d6c2f1f7a01';
const SRC = '1b2d7a3e-5c6f-4e8a-9b0c-2d3e4f5a6b7c';
const DST = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b';

/** Params as the CLI builds them from `name=value` arguments (and optionally a file). */
function fromCli(method: string, args: string[], file: Record<string, unknown> = {}): Record<string, unknown> {
  const cli = parseParamArgs(args);
  return prepareParams(method, mergeParams(file, cli), cli);
}

describe('cli/params', () => {
  describe('prepareParams', () => {
    it('takes SDM.copy_data endpoints as JSON objects on the command line', () => {
      const endpoint = (sd: string) => `{"endpoint_type":"div","sd_id":"${sd}","img_id":"${IMG}","vol_id":"${SRC}"}`;
      const wire = fromCli('SDM.copy_data', [`job_id=${DST}`, `source=${endpoint(POOL)}`, `destination=${endpoint(DST).replace('}', ',"generation":3}')}`]);
      expect(wire).to.deep.equal({
        job_id: DST,
        source: { endpoint_type: 'div', sd_id: POOL, img_id: IMG, vol_id: SRC },
        destination: { endpoint_type: 'div', sd_id: DST, img_id: IMG, vol_id: SRC, generation: 3 },
        copy_bitmaps: false,
      });
      expect(() => fromCli('SDM.copy_data', [`job_id=${DST}`, `source=${endpoint(POOL)}`, 'destination={"endpoint_type":"div"}'])).to.throw(
        InvalidParamsError,
      );
    });

    it('runs a known verb through its schema: wire types, schema order, defaults filled in', () => {
      const wire = fromCli('Image.move', [
        `dstSdUUID=${DST}`,
        'operation=1',
        `imageID=${IMG}`,
        'postZero=false',
        `storagepoolID=${POOL}`,
        'force=true',
        `storagedomainID=${SRC}`,
      ]);
      expect(wire).to.deep.equal({
        imageID: IMG,
        storagepoolID: POOL,
        storagedomainID: SRC,
        dstSdUUID: DST,
        operation: 1,
        postZero: false,
        force: true,
        discard: false,
      });
      expect(Object.keys(wire)).to.deep.equal(['imageID', 'storagepoolID', 'storagedomainID', 'dstSdUUID', 'operation', 'postZero', 'force', 'discard']);
    });

    it('applies wire conversions of the schema (an int VDSM wants as a string)', () => {
      const wire = fromCli('StoragePool.spmStart', [`storagepoolID=${POOL}`, 'prevID=-1', 'prevLver=-1', 'enableScsiFencing=false']);
      expect(wire).to.deep.equal({ storagepoolID: POOL, prevID: -1, prevLver: '-1', enableScsiFencing: 'false', maxHostID: null, domVersion: null });
    });

    it('refuses bad params of a known verb with every issue named', () => {
      let error: unknown;
      try {
        fromCli('Image.move', [`imageID=${IMG}`, 'operation=3', 'postZero=maybe', 'bogus=1']);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(InvalidParamsError);
      const { message, issues, method } = error as InvalidParamsError;
      expect(method).to.equal('Image.move');
      expect(message).to.match(/^Invalid params for Image\.move: /);
      const where = issues.map((issue) => issue.path.join('.'));
      expect(where).to.include.members(['storagepoolID', 'storagedomainID', 'dstSdUUID', 'operation', 'postZero', 'force', '']);
      expect(message).to.include('bogus');
    });

    it('sends the text of a name=value whose JSON reading does not fit but whose text does', () => {
      expect(fromCli('Host.echo', ['message=123'])).to.deep.equal({ message: '123' });
      expect(fromCli('Host.echo', ['message=true'])).to.deep.equal({ message: 'true' });
      expect(fromCli('Host.echo', ['message=["a"]'])).to.deep.equal({ message: '["a"]' });
      expect(fromCli('Host.echo', ['message=hi'])).to.deep.equal({ message: 'hi' });
    });

    it('reports the issues of the values as read when the text does not fit either', () => {
      expect(() => fromCli('Image.move', [`imageID=${IMG}`, `storagepoolID=${POOL}`, `storagedomainID=${SRC}`, `dstSdUUID=${DST}`, 'operation=3', 'postZero=false', 'force=false']))
        .to.throw(InvalidParamsError)
        .with.property('message')
        .that.includes('operation')
        .and.not.include('received string');
    });

    it('does not turn a params file value into text (the file is JSON already)', () => {
      expect(() => fromCli('Host.echo', [], { message: 123 })).to.throw(InvalidParamsError, 'message');
      expect(fromCli('Host.echo', [], { message: 'from file' })).to.deep.equal({ message: 'from file' });
    });

    it('sends an unknown Namespace.verb as given', () => {
      expect(fromCli('Host.nope', ['a=1', 'b=x', 'c=[true]'])).to.deep.equal({ a: 1, b: 'x', c: [true] });
      expect(fromCli('Lease.info', [], { lease: { sd_id: SRC } })).to.deep.equal({ lease: { sd_id: SRC } });
    });
  });

  describe('describeInvalidParams', () => {
    it('puts one issue per line and says missing for a param left out', () => {
      const given = { imageID: 'nope', operation: 3, bogus: 1 };
      let error: InvalidParamsError | undefined;
      try {
        prepareParams('Image.move', given);
      } catch (e) {
        error = e as InvalidParamsError;
      }
      const lines = describeInvalidParams(error!, given).split('\n');
      expect(lines[0]).to.equal('invalid params for Image.move:');
      expect(lines).to.include('  storagepoolID: missing');
      expect(lines).to.include('  postZero: missing');
      expect(lines.find((line) => line.startsWith('  imageID: '))).to.match(/GUID|UUID/i).and.not.include('missing');
      expect(lines.find((line) => line.startsWith('  operation: '))).to.include('1').and.not.include('missing');
      expect(lines.find((line) => line.startsWith('  (params): '))).to.include('bogus');
    });
  });

  describe('help texts', () => {
    it('lists a verb’s params with their defaults', () => {
      expect(describeVerbParams('Image.move')).to.equal('imageID storagepoolID storagedomainID dstSdUUID operation postZero force discard=false');
      expect(describeVerbParams('Host.ping2')).to.equal('(none)');
      expect(describeVerbParams('Host.nope')).to.equal(undefined);
    });

    it('lists the known verbs by namespace', () => {
      const text = describeKnownVerbs();
      expect(text).to.match(/^ {2}Host: .*\bping2\b.*\becho\b/m);
      expect(text).to.match(/^ {2}Image: .*\bmove\b/m);
      expect(text).to.match(/^ {2}Task: .*\bgetStatus\b/m);
      for (const line of text.split('\n')) expect(line.length, line).to.be.at.most(80);
      // Every verb of every namespace is listed, wrapped lines included.
      expect(text).to.match(/\bgetStorageDomains\b/).and.match(/\bspmStart\b/);
    });
  });
});
