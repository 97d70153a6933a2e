/**
 * The orchestrator side of a chaos case, in its two forms: a MoveOrchestrator
 * in this process (real VdsmClients over TCP, a real SQLite store; cheap, so
 * most cases use it), or the `engine-move` CLI as a child process, which the
 * case can SIGKILL at a named kill point or at a moment of its own and then
 * resume with `engine-move resume` on the same store. Either way a run ends
 * with the outcome the orchestrator reported, or with how it stopped.
 */
import { VdsmClient } from '@vdsm-kit/client';
import { MoveOrchestrator, SqliteMoveStore, poolHost } from '@vdsm-kit/engine-move';
import type { MoveOutcome } from '@vdsm-kit/engine-move';
import type { HostAddress } from '@vdsm-kit/fake-vdsm';
import { DEFAULT_IDS } from '@vdsm-kit/fake-vdsm';
import { CALL_TIMEOUT_MS } from './chaos-case.js';
import { startEngineMove } from './engine-move-process.js';
import type { EngineMoveChild } from './engine-move-process.js';
import type { TeardownHelper } from './teardown.js';

/** Poll interval of every run (ms): short, so a case takes little time. */
const POLL_MS = 50;
/** A task running longer than this (real ms) is a zombie: how an in-process run gets out of a `hang`. */
const ZOMBIE_AFTER_MS = 4000;

export interface MoveSpec {
  readonly diskId: string;
  readonly src: string;
  readonly dst: string;
  readonly wipe: boolean;
  readonly legacy: boolean;
}

/** How a run ended: with an outcome, or stopped (killed, or an error it gave up on). */
export type RunEnd =
  | { readonly kind: 'outcome'; readonly outcome: Pick<MoveOutcome, 'result' | 'failedPhase' | 'leftovers'> }
  | { readonly kind: 'none' }
  | { readonly kind: 'killed' }
  | { readonly kind: 'error'; readonly message: string };

function clientsFor(td: TeardownHelper, hosts: readonly HostAddress[]): VdsmClient[] {
  return hosts.map((address) =>
    td.track(
      new VdsmClient({
        transport: 'tcp',
        host: address.stomp.host,
        port: address.stomp.port,
        timeoutMs: CALL_TIMEOUT_MS,
        // Server beats every second: a silenced connection is noticed in seconds, not the default 24 s.
        heartbeat: [0, 1000],
        reconnect: { retries: 5, minTimeoutMs: 50, maxTimeoutMs: 500 },
      }),
      (client) => client.close(),
    ),
  );
}

/**
 * A MoveOrchestrator in this process, for one move (`spec`) or a resume
 * (`spec` null). Closed after: the next run opens the store again, as a
 * restarted process would.
 */
export async function runInProcess(td: TeardownHelper, hosts: readonly HostAddress[], db: string, spec: MoveSpec | null): Promise<RunEnd> {
  const store = SqliteMoveStore.open({ path: db });
  const clients = clientsFor(td, hosts);
  const orchestrator = new MoveOrchestrator({
    copyPath: 'spm',
    store,
    hosts: clients.map((client, index) => poolHost(`host-${hosts[index]!.id}`, client)),
    pollIntervalMs: POLL_MS,
    tracker: { firstEarlyPollMs: 10, zombieAfterMs: ZOMBIE_AFTER_MS, zombieStopGraceMs: ZOMBIE_AFTER_MS },
  });
  try {
    const handles = spec
      ? [
          await orchestrator.moveDisk({
            poolId: DEFAULT_IDS.pool,
            diskId: spec.diskId,
            srcDomainId: spec.src,
            dstDomainId: spec.dst,
            wipeAfterDelete: spec.wipe,
            legacy: spec.legacy,
          }),
        ]
      : await orchestrator.resume();
    // Someone listens to progress, so the progress sampling (Volume.getInfo) runs under the faults too.
    for (const handle of handles) handle.on('progress', () => {});
    const outcomes = await Promise.all(handles.map((handle) => handle.outcome));
    const outcome = outcomes.find((o) => o.diskId === (spec?.diskId ?? o.diskId));
    return outcome ? { kind: 'outcome', outcome } : { kind: 'none' };
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  } finally {
    orchestrator.close();
    await Promise.allSettled(clients.map((client) => client.close()));
    await store.close();
  }
}

/** The CLI's connection flags for these hosts and store. */
function connection(hosts: readonly HostAddress[], db: string): string[] {
  const list = hosts.map((address) => `${address.stomp.host}:${address.stomp.port}`).join(',');
  return ['--hosts', list, '--insecure', '--db', db, '--poll-interval', String(POLL_MS / 1000), '--timeout', String(CALL_TIMEOUT_MS / 1000), '--json'];
}

/** `engine-move move` (or `resume` when `spec` is null) as a child process; `failpoint` arms ENGINE_MOVE_FAILPOINT. */
export function startCli(td: TeardownHelper, hosts: readonly HostAddress[], db: string, spec: MoveSpec | null, failpoint?: string): EngineMoveChild {
  const args = spec
    ? [
        'move',
        ...connection(hosts, db),
        '--pool',
        DEFAULT_IDS.pool,
        '--disk',
        spec.diskId,
        '--from',
        spec.src,
        '--to',
        spec.dst,
        ...(spec.wipe ? ['--wipe'] : []),
        ...(spec.legacy ? ['--legacy'] : []),
        // The chaos schedules are the SPM path's (Image.move task faults).
        '--path',
        'spm',
      ]
    : ['resume', ...connection(hosts, db)];
  return startEngineMove(td, args, failpoint === undefined ? {} : { ENGINE_MOVE_FAILPOINT: failpoint });
}

/** What a finished CLI run says: its last JSON line is the outcome, if it got that far. */
export async function cliEnd(child: EngineMoveChild, diskId: string): Promise<RunEnd> {
  const run = await child.done;
  if (run.signal === 'SIGKILL') return { kind: 'killed' };
  const outcome = run.events.filter((e) => e['event'] === 'outcome' && e['diskId'] === diskId).at(-1);
  if (outcome) return { kind: 'outcome', outcome: outcome as unknown as MoveOutcome };
  if (run.code === 0) return { kind: 'none' };
  return { kind: 'error', message: `engine-move exited ${run.code ?? run.signal}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}` };
}
