/**
 * STOMP 1.2 frames as data. The parser produces `StompFrame`s; the encoder
 * takes `FrameInit`s. Header order is kept (VDSM writes its headers in a fixed
 * order and tests compare bytes), so headers are a `Map`, never a plain object
 * (a header named `__proto__` must stay a header).
 */

/** Every command STOMP 1.2 defines. VDSM's server handles only CONNECT, SEND, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT. */
export const STOMP_COMMANDS = [
  'CONNECT',
  'STOMP',
  'CONNECTED',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'ACK',
  'NACK',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'DISCONNECT',
  'MESSAGE',
  'RECEIPT',
  'ERROR',
] as const;

export type StompCommand = (typeof STOMP_COMMANDS)[number];

/** A parsed frame. When a header repeats, the first value wins (STOMP 1.2). */
export interface StompFrame {
  readonly command: StompCommand;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** Headers for encoding, in the order they are to be written. */
export type HeaderInit = Iterable<readonly [string, string]> | Readonly<Record<string, string>>;

/** A frame to encode. A body, when present, gets a `content-length` header. */
export interface FrameInit {
  readonly command: StompCommand;
  readonly headers?: HeaderInit;
  readonly body?: string | Uint8Array;
}

/** Size limits the parser enforces; each breach has its own error class. */
export interface FrameLimits {
  /** Largest frame (command + headers + body), in bytes. */
  readonly maxFrameSize: number;
  /** Most headers in one frame. */
  readonly maxHeaders: number;
  /** Longest command or header line, in bytes. */
  readonly maxHeaderLength: number;
}

/**
 * Generous by design: VDSM's biggest replies (Host.getCapabilities on a large
 * host, getAllTasksStatuses with hundreds of tasks, getAllVmStats) run to a few
 * MiB; 64 MiB leaves room while still bounding a hostile peer.
 */
export const DEFAULT_FRAME_LIMITS: FrameLimits = {
  maxFrameSize: 64 * 1024 * 1024,
  maxHeaders: 128,
  maxHeaderLength: 16 * 1024,
};

/** Iterates a `HeaderInit` as entries, in order. */
export function headerEntries(headers: HeaderInit | undefined): Iterable<readonly [string, string]> {
  if (!headers) return [];
  if (Symbol.iterator in headers) return headers as Iterable<readonly [string, string]>;
  return Object.entries(headers);
}
