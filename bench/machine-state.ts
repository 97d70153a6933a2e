/**
 * What a benchmark's reader needs to judge its figures: the qemu-img that did
 * the copies and how busy the machine was (a 2-core machine shared with test
 * runs shows it in every wall-clock figure).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFile$ = promisify(execFile);

/** `qemu-img --version`'s version number, or 'absent' (the fake then copies with its built-in copier). */
export async function qemuImgVersion(): Promise<string> {
  try {
    const { stdout } = await execFile$('qemu-img', ['--version']);
    return /version (\S+)/.exec(stdout)?.[1] ?? stdout.split('\n')[0]!.trim();
  } catch {
    return 'absent';
  }
}

/**
 * `some avg60` of /proc/pressure/cpu: the percentage of the last minute in
 * which at least one runnable task waited for a CPU. Undefined without PSI.
 */
export async function cpuPressure(): Promise<number | undefined> {
  try {
    const text = await readFile('/proc/pressure/cpu', 'utf8');
    const value = /^some .*avg60=(\d+(?:\.\d+)?)/m.exec(text)?.[1];
    return value === undefined ? undefined : Number(value);
  } catch {
    return undefined;
  }
}
