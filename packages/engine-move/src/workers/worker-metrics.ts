/**
 * A worker's Prometheus metrics (prom-client) and, when asked, their page:
 * `GET /metrics` on 127.0.0.1 only. Moves held by state and the outcomes of
 * those run here, leases held, takeovers and leases lost, the status polls
 * this worker made and their latency, its Host.getJobs calls by host, and the tasks in flight per SPM as the
 * last status round showed them.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly moves = new Gauge({ name: 'engine_move_worker_moves', help: 'Moves this worker holds, by state', labelNames: ['state'], registers: [this.registry] });
  readonly outcomes = new Counter({ name: 'engine_move_worker_outcomes_total', help: 'Moves this worker ran to their end, by result', labelNames: ['result'], registers: [this.registry] });
  readonly leasesHeld = new Gauge({ name: 'engine_move_worker_leases_held', help: 'Move leases this worker holds', registers: [this.registry] });
  readonly poolLeasesHeld = new Gauge({ name: 'engine_move_worker_pool_leases_held', help: 'Pool leader leases this worker holds (it polls those pools)', registers: [this.registry] });
  readonly takeovers = new Counter({ name: 'engine_move_worker_takeovers_total', help: 'Moves claimed that another claim held before (a dead or departed owner)', registers: [this.registry] });
  readonly leasesLost = new Counter({ name: 'engine_move_worker_leases_lost_total', help: 'Move leases lost to another owner while held; nothing more was done to those moves', registers: [this.registry] });
  readonly statusPolls = new Counter({ name: 'engine_move_worker_status_polls_total', help: 'Host.getAllTasksStatuses calls this worker made', labelNames: ['pool'], registers: [this.registry] });
  readonly statusPollSeconds = new Histogram({
    name: 'engine_move_worker_status_poll_seconds',
    help: 'Latency of the status polls this worker made',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly jobPolls = new Counter({ name: 'engine_move_worker_job_polls_total', help: 'Host.getJobs calls this worker made (as its pool\'s poller), by host', labelNames: ['host'], registers: [this.registry] });
  readonly tasksInFlight = new Gauge({ name: 'engine_move_worker_tasks_in_flight', help: 'Tasks not finished on the SPM at the last status round', labelNames: ['spm'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Serves `/metrics` on 127.0.0.1:`port` (0 picks one); resolves with the port. */
  async serve(port: number): Promise<{ port: number; close(): Promise<void> }> {
    const server: Server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
}
