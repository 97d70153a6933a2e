/**
 * `npm start -- [options]`: the demo's few options, read with Node's own
 * parseArgs. A bad value is a usage error (exit 2) that names the option.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** What one demo run does. */
export interface DemoOptions {
  /** Virtual size of each disk, bytes. */
  readonly diskBytes: number;
  /** Data each disk holds, bytes (in pieces spread over the disk). */
  readonly dataBytes: number;
  /** Pace of the block domain's wipe (postZero), bytes of volume size per second of storage time. */
  readonly wipeBytesPerSecond: number;
  /** Storage time runs `timeScale` times real time (0.05: a 40 s wipe takes 2 s). */
  readonly timeScale: number;
  /** Keep the fake's state folder (and say where it is) instead of removing it. */
  readonly keepState: boolean;
  /** Where the timeline picture goes. */
  readonly svgPath: string;
}

/** The options' defaults: a 4 GiB disk holding 64 MiB, wiped at 100 MiB/s (41 s), 20 times faster than real time. */
export const DEFAULT_OPTIONS: DemoOptions = {
  diskBytes: 4 * GiB,
  dataBytes: 64 * MiB,
  wipeBytesPerSecond: 100 * MiB,
  timeScale: 0.05,
  keepState: false,
  svgPath: resolve('move-timeline.svg'),
};

export const HELP = `usage: npm start -- [options]

Starts a fake VDSM in this process (two hosts, an NFS and an iSCSI domain, two
disks with data on the iSCSI one) and moves both disks to the NFS domain at
once, with wipe-after-delete: one through engine-move (copy, then delete), one
with the legacy single Image.move. Prints when each disk became usable, checks
the data on the target, and draws the timeline as an SVG.

options:
  --size-gib N      virtual size of each disk, GiB (default 4)
  --data-mib N      data in each disk, MiB (default 64)
  --wipe-rate N     wipe speed of the iSCSI domain, MiB/s of storage time (default 100)
  --time-scale F    storage time runs F times real time (default 0.05: 20x faster)
  --svg FILE        where the timeline picture goes (default ./move-timeline.svg)
  --keep-state      keep the fake's state folder and print where it is
  -h, --help        this text
`;

/** A bad option value; the message names the option. */
export class DemoUsageError extends Error {
  readonly code = 'DEMO_USAGE';
}

export type ParsedArgs = { readonly kind: 'run'; readonly options: DemoOptions } | { readonly kind: 'help' };

/** Reads `argv` (without node and the script). Throws DemoUsageError for unknown options or bad values. */
export function parseDemoArgs(argv: readonly string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        'size-gib': { type: 'string' },
        'data-mib': { type: 'string' },
        'wipe-rate': { type: 'string' },
        'time-scale': { type: 'string' },
        svg: { type: 'string' },
        'keep-state': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new DemoUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { kind: 'help' };
  const positive = (name: string, text: string | undefined, fallback: number, unit: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new DemoUsageError(`--${name} must be a number > 0, not ${JSON.stringify(text)}`);
    return value * unit;
  };
  const diskBytes = roundTo4KiB(positive('size-gib', values['size-gib'], DEFAULT_OPTIONS.diskBytes, GiB));
  const dataBytes = roundTo4KiB(positive('data-mib', values['data-mib'], DEFAULT_OPTIONS.dataBytes, MiB));
  if (dataBytes > diskBytes) throw new DemoUsageError('--data-mib must fit in --size-gib');
  const timeScale = positive('time-scale', values['time-scale'], DEFAULT_OPTIONS.timeScale, 1);
  if (timeScale > 1) throw new DemoUsageError('--time-scale must be at most 1 (storage time never runs slower than real time)');
  return {
    kind: 'run',
    options: {
      diskBytes,
      dataBytes,
      wipeBytesPerSecond: positive('wipe-rate', values['wipe-rate'], DEFAULT_OPTIONS.wipeBytesPerSecond, MiB),
      timeScale,
      keepState: values['keep-state'],
      svgPath: values.svg === undefined ? DEFAULT_OPTIONS.svgPath : resolve(values.svg),
    },
  };
}

/** Volumes are whole 4 KiB blocks (VDSM's sizes are too); at least one block. */
function roundTo4KiB(bytes: number): number {
  return Math.max(4096, Math.round(bytes / 4096) * 4096);
}
