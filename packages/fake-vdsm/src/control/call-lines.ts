/**
 * `fake-vdsm calls` without `--json`: one tab-separated line per call, for
 * people and `grep`/`cut`; lines starting with `#` say what is not a call
 * (the cursor for `--since`, calls no longer held).
 */
import type { CallPage, CallView } from './control-api.js';

/** Characters of a call's params shown on its line (the JSON listing has them whole, up to the log's own bound). */
export const PARAMS_SHOWN_CHARS = 200;

/**
 * `seq  time  host N  conn N  method  code  params` per call, then
 * `# dropped N` when calls after the cursor are gone, then `# next N`.
 */
export function formatCallLines(page: CallPage): string {
  const lines = page.calls.map(callLine);
  if (page.dropped > 0) lines.push(`# dropped ${page.dropped} (no longer held: the log is a ring, or was cleared)`);
  lines.push(`# next ${page.next}`);
  return `${lines.join('\n')}\n`;
}

function callLine(call: CallView): string {
  const params = typeof call.params === 'string' ? call.params : JSON.stringify(call.params);
  const shown = params.length > PARAMS_SHOWN_CHARS || call.paramsTruncated ? `${params.slice(0, PARAMS_SHOWN_CHARS)}...` : params;
  return [call.seq, call.time, `host ${call.host}`, `conn ${call.connection ?? '-'}`, call.method, call.code === null ? 'no-answer' : `code ${call.code}`, shown].join('\t');
}
