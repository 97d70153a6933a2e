/**
 * The logging fake-vdsm needs: structured, levelled, with child loggers per
 * connection. pino's loggers fit this interface as they are; in-process users
 * get a silent logger unless they pass one.
 */
import { pino } from 'pino';

type LogFn = (fields: Record<string, unknown>, message?: string) => void;

/** What the server logs through (a pino `Logger` satisfies it). */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** Log levels the CLI accepts. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const noop: LogFn = () => {};

/** Logs nothing; the default of `startFakeVdsm`. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger };

/**
 * A pino logger writing JSON lines to stderr, synchronously: stdout carries
 * only the ready line, and a log line must not be lost when the process exits
 * right after writing it.
 */
export function createStderrLogger(level: LogLevel): Logger {
  return pino({ name: 'fake-vdsm', level }, pino.destination({ dest: 2, sync: true }));
}
