/**
 * STOMP 1.2 heart-beats: the `heart-beat` header, its negotiation, and a
 * monitor that keeps one connection's beats on an injectable clock.
 *
 * Nothing here knows about sockets or frames: the client session and the
 * fake server both feed a `HeartbeatMonitor` with "bytes came in" and "bytes
 * went out" notes and give it a `send` to write a beat.
 */
import type { Clock, TimerHandle } from '../clock.js';

/** `[cx, cy]` of a `heart-beat` header: "I can send every cx ms", "I want to receive every cy ms"; 0 = never. */
export type HeartbeatHeader = readonly [number, number];

/** The result of a negotiation, as seen from one side of the connection. */
export interface NegotiatedHeartbeat {
  /** How often this side must write something (a beat when idle); 0 = never. */
  readonly sendEveryMs: number;
  /** How often this side must hear something from the peer; 0 = no check. */
  readonly expectEveryMs: number;
}

// Whitespace around the numbers is tolerated, as Python's int() in VDSM's server does.
const HEARTBEAT_VALUE = /^\s*([0-9]+)\s*,\s*([0-9]+)\s*$/;

/**
 * Parses a `heart-beat` header value (`"cx,cy"`). A missing or garbled value
 * reads as `[0, 0]` (no beats either way), as VDSM's server does.
 */
export function parseHeartbeatHeader(value: string | undefined): [number, number] {
  const match = value === undefined ? null : HEARTBEAT_VALUE.exec(value);
  if (!match) return [0, 0];
  const cx = Number(match[1]);
  const cy = Number(match[2]);
  // Digits only, but a 400-digit number still parses to Infinity; refuse it whole.
  if (!Number.isSafeInteger(cx) || !Number.isSafeInteger(cy)) return [0, 0];
  return [cx, cy];
}

/** Formats `[cx, cy]` as a `heart-beat` header value. */
export function formatHeartbeatHeader([cx, cy]: HeartbeatHeader): string {
  return `${cx},${cy}`;
}

/**
 * STOMP 1.2 negotiation for one side: `local` is the header this side sent,
 * `remote` the one the peer sent. Each direction is off when either side
 * says 0, else it runs at the larger of the two intervals (the slower side
 * wins). E.g. a client that sent `0,24000` and got VDSM's `24000,0` sends
 * nothing and expects a beat every 24 s.
 */
export function negotiateHeartbeat(local: HeartbeatHeader, remote: HeartbeatHeader): NegotiatedHeartbeat {
  const [localSend, localReceive] = local;
  const [remoteSend, remoteReceive] = remote;
  return {
    sendEveryMs: localSend === 0 || remoteReceive === 0 ? 0 : Math.max(localSend, remoteReceive),
    expectEveryMs: localReceive === 0 || remoteSend === 0 ? 0 : Math.max(localReceive, remoteSend),
  };
}

/** Options of a `HeartbeatMonitor`. */
export interface HeartbeatMonitorOptions {
  readonly clock: Clock;
  /** Write a beat when nothing was written for this long; 0 = never. */
  readonly sendEveryMs: number;
  /** The peer's negotiated beat; 0 = no check. */
  readonly expectEveryMs: number;
  /**
   * The peer is dead after `graceFactor x expectEveryMs` without inbound
   * bytes. 1.5 is the engine's `addGracePeriod` (x + x/2): network jitter and
   * a busy peer must not drop a healthy connection.
   */
  readonly graceFactor?: number;
  /** Writes one beat (a single EOL). */
  readonly send: () => void;
  /** The peer went silent too long. Called once; the monitor is stopped by then. */
  readonly onTimeout: () => void;
}

/**
 * Keeps the heart-beats of one connection, both ways.
 *
 * The hot path (`noteInbound`/`noteOutbound`, once per frame) only stores a
 * timestamp. Each direction has at most one clock timer, scheduled for the
 * moment its deadline could pass; when it fires it re-reads the timestamp
 * and either acts or sleeps until the new deadline. No `setInterval`, and
 * `stop()` leaves no timer behind.
 */
export class HeartbeatMonitor {
  readonly #clock: Clock;
  readonly #sendEveryMs: number;
  readonly #deadAfterMs: number;
  readonly #send: () => void;
  readonly #onTimeout: () => void;
  #lastInbound = 0;
  #lastOutbound = 0;
  #sendTimer: TimerHandle | undefined;
  #receiveTimer: TimerHandle | undefined;
  #running = false;

  constructor(options: HeartbeatMonitorOptions) {
    const graceFactor = options.graceFactor ?? 1.5;
    for (const [name, value] of [
      ['sendEveryMs', options.sendEveryMs],
      ['expectEveryMs', options.expectEveryMs],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
    }
    if (!Number.isFinite(graceFactor) || graceFactor < 1) throw new RangeError(`graceFactor must be >= 1, got ${graceFactor}`);
    this.#clock = options.clock;
    this.#sendEveryMs = options.sendEveryMs;
    this.#deadAfterMs = options.expectEveryMs * graceFactor;
    this.#send = options.send;
    this.#onTimeout = options.onTimeout;
  }

  /** True between `start()` and `stop()` (or a timeout). */
  get running(): boolean {
    return this.#running;
  }

  /** Starts both checks; counts from now in both directions. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const now = this.#clock.now();
    this.#lastInbound = now;
    this.#lastOutbound = now;
    if (this.#sendEveryMs > 0) this.#sendTimer = this.#schedule(this.#onSendTimer, this.#sendEveryMs);
    if (this.#deadAfterMs > 0) this.#receiveTimer = this.#schedule(this.#onReceiveTimer, this.#deadAfterMs);
  }

  /** Stops both checks and clears their timers. Idempotent. */
  stop(): void {
    this.#running = false;
    if (this.#sendTimer !== undefined) this.#clock.clearTimeout(this.#sendTimer);
    if (this.#receiveTimer !== undefined) this.#clock.clearTimeout(this.#receiveTimer);
    this.#sendTimer = undefined;
    this.#receiveTimer = undefined;
  }

  /** Some bytes (a frame or a beat) came in from the peer. */
  noteInbound(): void {
    this.#lastInbound = this.#clock.now();
  }

  /** Some bytes (a frame) went out to the peer. */
  noteOutbound(): void {
    this.#lastOutbound = this.#clock.now();
  }

  readonly #onSendTimer = (): void => {
    this.#sendTimer = undefined;
    if (!this.#running) return;
    const idleMs = this.#clock.now() - this.#lastOutbound;
    if (idleMs >= this.#sendEveryMs) {
      this.#send();
      // `send` may have stopped us (its write found the channel closed, say).
      if (!this.#running) return;
      this.#lastOutbound = this.#clock.now();
      this.#sendTimer = this.#schedule(this.#onSendTimer, this.#sendEveryMs);
    } else {
      this.#sendTimer = this.#schedule(this.#onSendTimer, this.#sendEveryMs - idleMs);
    }
  };

  readonly #onReceiveTimer = (): void => {
    this.#receiveTimer = undefined;
    if (!this.#running) return;
    const silentMs = this.#clock.now() - this.#lastInbound;
    if (silentMs >= this.#deadAfterMs) {
      this.stop();
      this.#onTimeout();
    } else {
      this.#receiveTimer = this.#schedule(this.#onReceiveTimer, this.#deadAfterMs - silentMs);
    }
  };

  #schedule(callback: () => void, ms: number): TimerHandle {
    const handle = this.#clock.setTimeout(callback, ms);
    // Beats serve a connection; the connection's socket, not this timer, decides whether the process lives.
    handle.unref?.();
    return handle;
  }
}
