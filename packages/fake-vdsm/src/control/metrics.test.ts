/**
 * FakeMetrics read back as a scraper reads them: the Prometheus text,
 * parsed with prom-client's own reader of a registry (`getMetricsAsJSON`)
 * where values matter, and the text itself where the format does.
 */
import { SCHEMA_METHODS } from '@vdsm-kit/client/api';
import { ManualClock } from '@vdsm-kit/client/clock';
import { expect } from 'chai';
import { register as defaultRegistry } from 'prom-client';
import { hostApi } from '../api/host.js';
import { ApiRegistry } from '../api/registry.js';
import type { CallContext } from '../api/registry.js';
import { FaultEngine } from '../faults/engine.js';
import { silentLogger } from '../logger.js';
import { RpcDispatcher } from '../server/rpc-dispatcher.js';
import { FakeMetrics, METRICS_CONTENT_TYPE } from './metrics.js';
import type { MetricsSources } from './metrics.js';

const context: CallContext = { flowId: undefined, connection: { transport: 'tcp' } };

/** The value of `name` with exactly `labels`, or undefined when that series is absent. */
async function value(metrics: FakeMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const series = metric?.values.find((entry) => JSON.stringify(entry.labels) === JSON.stringify(labels));
  return series?.value;
}

function emptySources(): MetricsSources {
  return { tasks: () => [], hosts: () => [] };
}

describe('FakeMetrics', () => {
  it('counts calls by host, method and answered code; a method VDSM does not have is "unknown", no answer is "none"', async () => {
    const metrics = new FakeMetrics(emptySources());
    const faults = new FaultEngine({ clock: new ManualClock(), logger: silentLogger, seed: 1 });
    const dispatcher = new RpcDispatcher({
      registry: new ApiRegistry([hostApi({ identity: { uuid: '2d1f2a4e-8a52-4bd4-9d38-1c8f7e6a0b11' } })]),
      knownMethods: new Set(SCHEMA_METHODS),
      isReady: () => true,
      logger: silentLogger,
      faults,
      hostId: 3,
      interceptors: [metrics.interceptor(3)],
    });
    const send = async (method: string, params: unknown, id: number): Promise<unknown> =>
      dispatcher.prepare(JSON.stringify({ jsonrpc: '2.0', method, params, id })).run(context);
    await send('Host.ping2', {}, 1);
    await send('Host.ping2', {}, 2);
    await send('Host.echo', {}, 3);
    await send('No.suchVerb', {}, 4);
    await send('Made.up', {}, 5);
    faults.add({ match: { method: 'Host.echo' }, action: { noAnswer: true } });
    await send('Host.echo', { message: 'x' }, 6);

    const calls = 'fake_vdsm_rpc_calls_total';
    expect(await value(metrics, calls, { host: '3', method: 'Host.ping2', code: '0' })).to.equal(2);
    expect(await value(metrics, calls, { host: '3', method: 'Host.echo', code: '-32602' })).to.equal(1);
    expect(await value(metrics, calls, { host: '3', method: 'unknown', code: '-32601' })).to.equal(2);
    expect(await value(metrics, calls, { host: '3', method: 'Host.echo', code: 'none' })).to.equal(1);
  });

  it('reads tasks by verb and state, and open connections by host, when scraped', async () => {
    let tasks = [
      { verb: 'moveImage', state: 'running' },
      { verb: 'moveImage', state: 'finished' },
      { verb: 'moveImage', state: 'finished' },
      { verb: 'deleteImage', state: 'finished' },
    ];
    let hosts = [
      { id: 1, openConnections: 2 },
      { id: 2, openConnections: 0 },
    ];
    const metrics = new FakeMetrics({ tasks: () => tasks, hosts: () => hosts });
    expect(await value(metrics, 'fake_vdsm_tasks', { verb: 'moveImage', state: 'finished' })).to.equal(2);
    expect(await value(metrics, 'fake_vdsm_tasks', { verb: 'moveImage', state: 'running' })).to.equal(1);
    expect(await value(metrics, 'fake_vdsm_tasks', { verb: 'deleteImage', state: 'finished' })).to.equal(1);
    expect(await value(metrics, 'fake_vdsm_connections_open', { host: '1' })).to.equal(2);
    expect(await value(metrics, 'fake_vdsm_connections_open', { host: '2' })).to.equal(0);

    // A cleared task and a closed host are gone from the next scrape, not left at their last value.
    tasks = [{ verb: 'moveImage', state: 'finished' }];
    hosts = [{ id: 1, openConnections: 1 }];
    expect(await value(metrics, 'fake_vdsm_tasks', { verb: 'moveImage', state: 'running' })).to.equal(undefined);
    expect(await value(metrics, 'fake_vdsm_tasks', { verb: 'moveImage', state: 'finished' })).to.equal(1);
    expect(await value(metrics, 'fake_vdsm_connections_open', { host: '2' })).to.equal(undefined);
  });

  it('adds up the bytes the data meter is told of', async () => {
    const metrics = new FakeMetrics(emptySources());
    expect(await value(metrics, 'fake_vdsm_copied_bytes_total')).to.equal(0);
    metrics.dataMeter.copied(1024);
    metrics.dataMeter.copied(4096);
    metrics.dataMeter.wiped(32 * 1024 * 1024);
    expect(await value(metrics, 'fake_vdsm_copied_bytes_total')).to.equal(5120);
    expect(await value(metrics, 'fake_vdsm_wiped_bytes_total')).to.equal(32 * 1024 * 1024);
  });

  it('keeps each fake\'s counts in its own registry, out of prom-client\'s default one', async () => {
    const one = new FakeMetrics(emptySources());
    const two = new FakeMetrics(emptySources());
    one.dataMeter.copied(10);
    expect(await value(one, 'fake_vdsm_copied_bytes_total')).to.equal(10);
    expect(await value(two, 'fake_vdsm_copied_bytes_total')).to.equal(0);
    expect(defaultRegistry.getSingleMetric('fake_vdsm_copied_bytes_total')).to.equal(undefined);
  });

  it('writes the Prometheus text format', async () => {
    const metrics = new FakeMetrics({ tasks: () => [{ verb: 'moveImage', state: 'finished' }], hosts: () => [] });
    metrics.dataMeter.wiped(7);
    const text = await metrics.text();
    expect(text).to.include('# TYPE fake_vdsm_wiped_bytes_total counter\nfake_vdsm_wiped_bytes_total 7\n');
    expect(text).to.include('fake_vdsm_tasks{verb="moveImage",state="finished"} 1\n');
    expect(METRICS_CONTENT_TYPE).to.match(/^text\/plain; version=0\.0\.4/);
  });
});
