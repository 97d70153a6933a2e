/**
 * The `|jobs|status|<id>` event a host sends when one of its jobs ends
 * (jobs.py `Job._send_event`: `clientIF.notify(id, params=info())`;
 * vdsm-sdm.md §2): the flat job info plus `notify_time`, VDSM's monotonic
 * milliseconds, encoded as VDSM's `Notification.emit` does.
 */
import { jobStatusEventId } from '@vdsm-kit/client/api';
import type { HostJobInfo } from '@vdsm-kit/client/api';
import { pyFloat, pythonJsonDumps } from '../server/python-json.js';

/** The JSON-RPC notification of `info`'s end, at `notifyTime` (ms). */
export function jobStatusEventBody(info: HostJobInfo, notifyTime: number): string {
  const params = {
    ...info,
    ...(info.progress === undefined ? {} : { progress: pyFloat(info.progress) }),
    notify_time: Math.floor(notifyTime),
  };
  return pythonJsonDumps({ jsonrpc: '2.0', method: jobStatusEventId(info.id), params }) as string;
}
