import { expect } from 'chai';
import { DEFAULT_PORT } from '../api/constants.js';
import { DEFAULT_PKI_DIR } from '../transport/pki.js';
import {
  DEFAULT_HOST,
  DEFAULT_TIMEOUT_S,
  USAGE_EXIT_CODE,
  UsageError,
  mergeParams,
  parseArgs,
  parseParamArgs,
  parseParamValue,
  parseParamsFile,
} from './args.js';
import type { CliRequest, ParseOutcome } from './args.js';

/** The request of a command line that must parse. */
function request(...argv: string[]): CliRequest {
  const outcome = parseArgs(argv);
  if (outcome.kind !== 'call') expect.fail(`expected a call, got exit ${outcome.exitCode}: ${outcome.stderr}`);
  return outcome.request;
}

/** The outcome of a command line that must end at once. */
function exit(...argv: string[]): Extract<ParseOutcome, { kind: 'exit' }> {
  const outcome = parseArgs(argv);
  if (outcome.kind !== 'exit') expect.fail(`expected an exit, got a call of ${outcome.request.method}`);
  return outcome;
}

function paramValues(req: CliRequest): Record<string, unknown> {
  return Object.fromEntries([...req.params].map(([name, param]) => [name, param.value]));
}

describe('cli/args', () => {
  describe('parseParamValue', () => {
    it('reads JSON when the text parses', () => {
      expect(parseParamValue('1')).to.equal(1);
      expect(parseParamValue('-1')).to.equal(-1);
      expect(parseParamValue('2.5')).to.equal(2.5);
      expect(parseParamValue('false')).to.equal(false);
      expect(parseParamValue('true')).to.equal(true);
      expect(parseParamValue('null')).to.equal(null);
      expect(parseParamValue('["a","b"]')).to.deep.equal(['a', 'b']);
      expect(parseParamValue('{"sd":"x","n":[1]}')).to.deep.equal({ sd: 'x', n: [1] });
      expect(parseParamValue('"quoted"')).to.equal('quoted');
    });

    it('keeps the text as a string when it is not JSON', () => {
      const uuid = '5d1c2a8e-0b1f-4a52-9a6e-1f0c6c2b8f11';
      expect(parseParamValue(uuid)).to.equal(uuid);
      expect(parseParamValue('hi')).to.equal('hi');
      expect(parseParamValue('')).to.equal('');
      expect(parseParamValue('/rhev/data-center/mnt')).to.equal('/rhev/data-center/mnt');
      expect(parseParamValue('[not json')).to.equal('[not json');
      expect(parseParamValue('True')).to.equal('True');
    });
  });

  describe('parseParamArgs', () => {
    it('splits at the first = and keeps the text beside the value', () => {
      const params = parseParamArgs(['operation=1', 'desc=a=b', 'empty=']);
      expect([...params.keys()]).to.deep.equal(['operation', 'desc', 'empty']);
      expect(params.get('operation')).to.deep.equal({ value: 1, text: '1' });
      expect(params.get('desc')).to.deep.equal({ value: 'a=b', text: 'a=b' });
      expect(params.get('empty')).to.deep.equal({ value: '', text: '' });
    });

    it('refuses an argument without =, an empty name and a repeated name', () => {
      expect(() => parseParamArgs(['imageID'])).to.throw(UsageError, "invalid param 'imageID': expected name=value");
      expect(() => parseParamArgs(['=1'])).to.throw(UsageError, 'name before');
      expect(() => parseParamArgs(['a=1', 'a=2'])).to.throw(UsageError, "param 'a' is given twice");
    });
  });

  describe('parseParamsFile and mergeParams', () => {
    it('reads a JSON object', () => {
      expect(parseParamsFile('{"lease": {"sd_id": "x"}}', 'f.json')).to.deep.equal({ lease: { sd_id: 'x' } });
    });

    it('refuses empty text, bad JSON and non-objects, naming the file', () => {
      expect(() => parseParamsFile('  \n', 'p.json')).to.throw(UsageError, 'params file p.json is empty');
      expect(() => parseParamsFile('{oops', 'p.json')).to.throw(UsageError, 'params file p.json is not JSON');
      expect(() => parseParamsFile('[1]', 'p.json')).to.throw(UsageError, 'not an array');
      expect(() => parseParamsFile('null', 'p.json')).to.throw(UsageError, 'not null');
      expect(() => parseParamsFile('7', 'p.json')).to.throw(UsageError, 'not a number');
    });

    it('puts the name=value params over the file ones', () => {
      const merged = mergeParams({ a: 1, b: 'file' }, parseParamArgs(['b=cli', 'c=[1]']));
      expect(merged).to.deep.equal({ a: 1, b: 'cli', c: [1] });
    });
  });

  describe('parseArgs', () => {
    it("uses vdsm-client's defaults: localhost:54321, mutual TLS with /etc/pki/vdsm, 60 s", () => {
      const req = request('Host', 'getCapabilities');
      expect(req.connection).to.deep.equal({ transport: 'tls', host: DEFAULT_HOST, port: DEFAULT_PORT, pkiDir: DEFAULT_PKI_DIR });
      expect(req.connection).to.deep.include({ host: 'localhost', port: 54321, pkiDir: '/etc/pki/vdsm' });
      expect(req.method).to.equal('Host.getCapabilities');
      expect(req.params.size).to.equal(0);
      expect(req.timeoutMs).to.equal(DEFAULT_TIMEOUT_S * 1000);
      expect(req).to.not.have.property('flowId');
      expect(req).to.not.have.property('paramsFile');
    });

    it('reads every option', () => {
      const req = request(
        '-a', '10.0.0.5', '-p', '4000', '--pki-dir', '/tmp/pki', '--timeout', '2.5', '--flow-id', 'flow-1', '-f', 'p.json',
        'Image', 'move', 'imageID=5d1c2a8e-0b1f-4a52-9a6e-1f0c6c2b8f11', 'operation=1', 'postZero=false', 'volumeList=["a","b"]',
      );
      expect(req.connection).to.deep.equal({ transport: 'tls', host: '10.0.0.5', port: 4000, pkiDir: '/tmp/pki' });
      expect(req.method).to.equal('Image.move');
      expect(req.timeoutMs).to.equal(2500);
      expect(req.flowId).to.equal('flow-1');
      expect(req.paramsFile).to.equal('p.json');
      expect(paramValues(req)).to.deep.equal({
        imageID: '5d1c2a8e-0b1f-4a52-9a6e-1f0c6c2b8f11',
        operation: 1,
        postZero: false,
        volumeList: ['a', 'b'],
      });
    });

    it('takes the long forms and options after the verb', () => {
      const req = request('Host', 'echo', 'message=hi', '--host', 'h', '--port', '1', '--insecure', '--file', '-');
      expect(req.connection).to.deep.equal({ transport: 'tcp', host: 'h', port: 1 });
      expect(req.paramsFile).to.equal('-');
      expect(paramValues(req)).to.deep.equal({ message: 'hi' });
    });

    it('--insecure is plain TCP', () => {
      expect(request('--insecure', '-a', '127.0.0.1', '-p', '5', 'Host', 'ping2').connection).to.deep.equal({
        transport: 'tcp',
        host: '127.0.0.1',
        port: 5,
      });
    });

    it('--ws gives a WebSocket connection, with the PKI only for wss://', () => {
      expect(request('--ws', 'ws://127.0.0.1:8080/stomp', 'Host', 'ping2').connection).to.deep.equal({
        transport: 'ws',
        url: 'ws://127.0.0.1:8080/stomp',
      });
      expect(request('--ws', 'wss://h:8443/', '--pki-dir', '/p', 'Host', 'ping2').connection).to.deep.equal({
        transport: 'ws',
        url: 'wss://h:8443/',
        pkiDir: '/p',
      });
      expect(request('--ws', 'wss://h:8443/', 'Host', 'ping2').connection).to.deep.include({ pkiDir: DEFAULT_PKI_DIR });
    });

    it('--help prints the usage on stdout and exits 0, with the extra help text', () => {
      const outcome = parseArgs(['--help'], { helpAfter: 'Known verbs:\n  Host.ping2' });
      expect(outcome).to.include({ kind: 'exit', exitCode: 0, stderr: '' });
      const { stdout } = outcome as Extract<ParseOutcome, { kind: 'exit' }>;
      expect(stdout).to.include('Usage: vdsm-client [options] Namespace verb [name=value ...]');
      for (const flag of ['--host', '--port', '--insecure', '--pki-dir', '--ws', '--timeout', '--flow-id', '--file']) {
        expect(stdout).to.include(flag);
      }
      expect(stdout).to.include('Known verbs:\n  Host.ping2');
    });

    it('leaves the extra help text out after a usage error', () => {
      const outcome = parseArgs(['--bogus'], { helpAfter: 'Known verbs:' });
      expect(outcome).to.include({ kind: 'exit', exitCode: USAGE_EXIT_CODE });
      expect((outcome as Extract<ParseOutcome, { kind: 'exit' }>).stderr).to.include('Usage: vdsm-client').and.not.include('Known verbs:');
    });

    const usageErrors: Array<[argv: string[], message: string]> = [
      [[], "missing required argument 'Namespace'"],
      [['Host'], "missing required argument 'verb'"],
      [['--bogus', 'Host', 'ping2'], "unknown option '--bogus'"],
      [['-p', 'x', 'Host', 'ping2'], 'expected a port number 1..65535'],
      [['-p', '0', 'Host', 'ping2'], 'expected a port number 1..65535'],
      [['-p', '65536', 'Host', 'ping2'], 'expected a port number 1..65535'],
      [['--timeout', '0', 'Host', 'ping2'], 'expected a number of seconds > 0'],
      [['--timeout', 'soon', 'Host', 'ping2'], 'expected a number of seconds > 0'],
      [['--timeout', '9999999', 'Host', 'ping2'], 'expected at most 2147483 seconds'],
      [['Host', 'echo', 'message'], "invalid param 'message': expected name=value"],
      [['Host', 'echo', 'a=1', 'a=2'], "param 'a' is given twice"],
      [['Host.x', 'echo'], "invalid Namespace 'Host.x'"],
      [['Host', ''], "invalid verb ''"],
      [['--insecure', '--pki-dir', '/p', 'Host', 'ping2'], '--insecure and --pki-dir do not go together'],
      [['--ws', 'ws://h/', '-a', 'x', 'Host', 'ping2'], '--ws gives the whole address'],
      [['--ws', 'ws://h/', '-p', '1', 'Host', 'ping2'], '--ws gives the whole address'],
      [['--ws', 'not a url', 'Host', 'ping2'], "--ws 'not a url' is not a URL"],
      [['--ws', 'http://h/', 'Host', 'ping2'], 'must be a ws:// or wss:// URL'],
      [['--ws', 'ws://h/', '--pki-dir', '/p', 'Host', 'ping2'], '--pki-dir needs a wss:// URL'],
      [['--ws', 'wss://h/', '--insecure', 'Host', 'ping2'], '--insecure needs a ws:// URL'],
    ];
    for (const [argv, message] of usageErrors) {
      it(`usage error (exit 2, message and help on stderr): ${JSON.stringify(argv)}`, () => {
        const outcome = exit(...argv);
        expect(outcome.exitCode).to.equal(USAGE_EXIT_CODE);
        expect(outcome.stdout).to.equal('');
        expect(outcome.stderr).to.include(message);
        expect(outcome.stderr).to.include('Usage: vdsm-client');
      });
    }

    it('never touches the process (parsing twice gives the same answer)', () => {
      const exitCode = process.exitCode;
      expect(parseArgs(['--bogus'])).to.deep.equal(parseArgs(['--bogus']));
      expect(process.exitCode).to.equal(exitCode);
    });
  });
});
