/**
 * CPU profiles for benchmarks: record this process with the inspector, and
 * summarise a `.cpuprofile` (ours, or one a child wrote with `--cpu-prof`)
 * as the functions that spend the most self time, so a slow path can be
 * pinned to a file and function.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';

/** The parts of V8's `.cpuprofile` format the summary reads. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One line of a summary. */
export interface HotSpot {
  /** `file:line function`, or just the file; paths relative to the repository (or node: / internal names). */
  readonly where: string;
  /** Share of the busy samples (all but `(idle)`), in percent. */
  readonly percent: number;
}

/** Where a process spent its CPU time. */
export interface ProfileSummary {
  /** Share of all samples in which the process was idle, in percent. */
  readonly idlePercent: number;
  /** The hottest functions by self time. */
  readonly functions: readonly HotSpot[];
  /** The hottest files by self time (the sum over their functions). */
  readonly files: readonly HotSpot[];
}

/** Records this process's CPU profile; `stop` writes it to `file`. */
export async function startProfiling(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 100 µs: fine enough for calls that take tens of microseconds.
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop(file: string): Promise<void> {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await writeFile(file, JSON.stringify(profile));
    },
  };
}

/**
 * The `top` functions and files by self time in a profile file, as shares of
 * the busy time: idle samples are counted apart, while `(garbage collector)`
 * and `(program)` (native work) stay in, since they are a cost of the code.
 */
export async function summarizeProfile(file: string, repositoryRoot: string, top = 20): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idle = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle++;
      continue;
    }
    const { file: where, name } = describeFrame(node.callFrame, repositoryRoot);
    const key = where === '' ? name : `${where} ${name}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + 1);
    const fileKey = where === '' ? name : where.replace(/:\d+$/, '');
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + 1);
  }
  const total = profile.samples.length;
  const busy = total - idle || 1;
  const hottest = (counts: Map<string, number>): HotSpot[] =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, samples]) => ({ where, percent: (100 * samples) / busy }));
  return { idlePercent: (100 * idle) / (total || 1), functions: hottest(byFunction), files: hottest(byFile) };
}

/** `file:line` (empty for native frames such as `(program)`) and the function name. */
function describeFrame(frame: CpuProfile['nodes'][number]['callFrame'], repositoryRoot: string): { file: string; name: string } {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return { file: '', name };
  let file = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
  if (file.startsWith(repositoryRoot)) file = file.slice(repositoryRoot.length);
  return { file: `${file}:${frame.lineNumber + 1}`, name };
}

/** A summary as aligned text lines. */
export function formatProfileSummary(title: string, summary: ProfileSummary): string {
  const lines = [`${title} (idle ${summary.idlePercent.toFixed(1)} % of samples; shares below are of busy time)`, ' by file:'];
  for (const { where, percent } of summary.files) lines.push(`  ${percent.toFixed(1).padStart(5)} %  ${where}`);
  lines.push(' by function (self time):');
  for (const { where, percent } of summary.functions) lines.push(`  ${percent.toFixed(1).padStart(5)} %  ${where}`);
  return lines.join('\n');
}
