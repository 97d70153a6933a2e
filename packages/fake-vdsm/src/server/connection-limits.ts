/**
 * Bounds the fake's STOMP server keeps against clients that misbehave
 * (slow, silent, greedy); VDSM has none of them but the per-frame size.
 * Every one is on the server's clock and can be made small in tests.
 */

/** The bounds of one server's connections. */
export interface ConnectionLimits {
  /**
   * After a DISCONNECT VDSM answers without closing (with a `receipt`, or an
   * empty one), the client is to close; it is closed for it after this long.
   */
  readonly disconnectLingerMs: number;
  /** A frame begun and not finished within this long gets an ERROR and the connection is closed. */
  readonly frameTimeoutMs: number;
  /**
   * Reading a connection stops while more than this many bytes of its
   * replies wait to be written (a client that pipelines and does not read),
   * and starts again when half of them left.
   */
  readonly maxQueuedReplyBytes: number;
  /**
   * Bytes of unfinished frames of all connections together: a connection
   * whose frame would go over gets an ERROR and is closed (`maxFrameSize`
   * bounds one frame, this all of them at once).
   */
  readonly maxBufferedFrameBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  disconnectLingerMs: 10_000,
  // Enough for a 64 MiB frame at a little over 1 MiB/s.
  frameTimeoutMs: 60_000,
  maxQueuedReplyBytes: 1024 * 1024,
  // Two frames of the largest size (DEFAULT_FRAME_LIMITS.maxFrameSize).
  maxBufferedFrameBytes: 128 * 1024 * 1024,
};

/**
 * Fills in defaults.
 *
 * @throws RangeError for a bound that is not a number greater than 0 (`Infinity` turns it off).
 */
export function resolveConnectionLimits(limits: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const resolved: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...definedOnly(limits) };
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`connection limit ${name} must be a number greater than 0, not ${String(value)}`);
  }
  return resolved;
}

function definedOnly(limits: Partial<ConnectionLimits>): Partial<ConnectionLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}
