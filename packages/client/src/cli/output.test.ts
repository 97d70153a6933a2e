import { expect } from 'chai';
import { ConnectionLostError, MethodNotFoundError, RpcTimeoutError, VdsmError, VdsmNetworkError } from '../api/errors.js';
import { ConnectTimeoutError } from '../errors.js';
import { errorReport, formatErrorReport, formatResult } from './output.js';

describe('cli/output', () => {
  describe('formatResult', () => {
    it('prints JSON with a 4-space indent and sorted keys, like vdsm-client', () => {
      expect(formatResult({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).to.equal(
        ['{', '    "a": {', '        "c": null,', '        "d": [', '            {', '                "y": 2,', '                "z": 1', '            }', '        ]', '    },', '    "b": 1', '}'].join('\n'),
      );
    });

    it('prints scalars as JSON', () => {
      expect(formatResult(true)).to.equal('true');
      expect(formatResult('hi')).to.equal('"hi"');
      expect(formatResult([])).to.equal('[]');
      expect(formatResult(undefined)).to.equal('null');
    });
  });

  describe('errorReport', () => {
    it("reports a VdsmError with VDSM's code and message as received", () => {
      const error = new VdsmError(401, "Task id unknown: ('x',)");
      expect(errorReport(error)).to.deep.equal({ code: 401, message: "Task id unknown: ('x',)" });
      const notFound = new MethodNotFoundError("The method does not exist or is not available: {'method': 'Host.nope'}");
      expect(errorReport(notFound)).to.deep.equal({ code: -32601, message: "The method does not exist or is not available: {'method': 'Host.nope'}" });
    });

    it('adds the cause of a 5022 network error (what failed)', () => {
      const cause = Object.assign(new Error('Cannot connect to tcp://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
      const report = errorReport(new VdsmNetworkError(undefined, { cause }));
      expect(report.code).to.equal(5022);
      expect(report.message).to.match(/^Message timeout which can be caused by communication issues: Cannot connect to tcp:\/\/127\.0\.0\.1:9: connect ECONNREFUSED/);
      // Not twice when the message already says it.
      expect(errorReport(new ConnectionLostError(cause.message, { cause })).message).to.equal(cause.message);
      expect(errorReport(new RpcTimeoutError('Host.ping2', 1000)).code).to.equal(5022);
    });

    it('reports string codes of our own and of system errors', () => {
      expect(errorReport(new ConnectTimeoutError('tcp://h:1: not connected within 10 ms'))).to.deep.equal({
        code: 'VDSM_ERR_CONNECT_TIMEOUT',
        message: 'tcp://h:1: not connected within 10 ms',
      });
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
      expect(errorReport(refused)).to.deep.equal({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' });
      expect(errorReport(new TypeError('x'))).to.deep.equal({ code: 'TypeError', message: 'x' });
      expect(errorReport('boom')).to.deep.equal({ code: 'Error', message: 'boom' });
    });
  });

  it('formats a report as one line in Python JSON spacing', () => {
    expect(formatErrorReport({ code: -32601, message: "no 'x'\n\"y\"" })).to.equal('{"code": -32601, "message": "no \'x\'\\n\\"y\\""}');
    expect(formatErrorReport({ code: 'ECONNREFUSED', message: 'm' })).to.equal('{"code": "ECONNREFUSED", "message": "m"}');
  });
});
