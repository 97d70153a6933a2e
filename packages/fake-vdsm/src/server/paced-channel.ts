/**
 * A `FrameChannel` decorator that can slow its outbound bytes down to N
 * bytes per second on a clock, for the `slowBytes` wire fault (Toxiproxy's
 * `bandwidth` toxic, fake-vdsm-anchors.md section 7).
 *
 * Unpaced (the default, and every connection until a fault fires) it only
 * forwards: one extra method hop per frame. Paced, each outbound frame or
 * heart-beat is queued and handed to the inner channel at the moment its
 * last byte would have left a link of that rate, after everything queued
 * before it. The granule is the frame, not the byte: a 100 KiB frame at
 * 50 KiB/s arrives whole after 2 s rather than trickling in, which is what
 * the peer's frame parser sees anyway (only its heart-beat check could tell).
 */
import type { Clock, TimerHandle } from '@vdsm-kit/client/clock';
import { encodeFrame } from '@vdsm-kit/client/stomp';
import type { FrameInit, StompFrame } from '@vdsm-kit/client/stomp';
import type { ChannelInfo, FrameChannel } from '@vdsm-kit/client/transport';

/** One queued write: a frame, or a heart-beat (`frame` undefined), and when it may leave (clock ms). */
interface QueuedWrite {
  readonly frame: FrameInit | undefined;
  readonly dueAt: number;
}

/** A frame channel whose outbound side can be paced (see the module comment). */
export class PacedChannel implements FrameChannel {
  readonly #inner: FrameChannel;
  readonly #clock: Clock;
  readonly #queue: QueuedWrite[] = [];
  /** Index of the next write to leave (a head index, so draining is not O(n^2) shifts). */
  #head = 0;
  #bytesPerSecond = 0;
  /** Clock ms at which the last queued byte is on the wire. */
  #busyUntil = 0;
  #timer: TimerHandle | undefined;
  /** Set by `close()` while writes are still queued: the reason to close the inner channel with once they left. */
  #closeAfterDrain: { readonly error: Error | undefined } | undefined;

  constructor(inner: FrameChannel, clock: Clock) {
    this.#inner = inner;
    this.#clock = clock;
    // The inner channel went away (peer closed, destroy): nothing queued can leave any more.
    inner.onClose(() => this.#dropQueue());
  }

  get info(): ChannelInfo {
    return this.#inner.info;
  }

  get closed(): boolean {
    return this.#closeAfterDrain !== undefined || this.#inner.closed;
  }

  /** Outbound bytes per second now in force; 0 when unpaced. */
  get bytesPerSecond(): number {
    return this.#bytesPerSecond;
  }

  /** Frames and heart-beats waiting for their turn. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Paces every later write at `bytesPerSecond` (writes already queued keep
   * their times).
   *
   * @throws RangeError unless a finite number greater than 0.
   */
  pace(bytesPerSecond: number): void {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
      throw new RangeError(`bytes per second must be a finite number greater than 0, not ${bytesPerSecond}`);
    }
    this.#bytesPerSecond = bytesPerSecond;
  }

  send(frame: FrameInit): void {
    if (this.#bytesPerSecond === 0 && this.queued === 0) {
      this.#inner.send(frame);
      return;
    }
    // Encoded here for its size only (and to throw for an unencodable frame now, as the inner channel would).
    const size = encodeFrame(frame).length;
    if (this.closed) return;
    this.#enqueue(frame, size);
  }

  sendHeartbeat(): void {
    if (this.#bytesPerSecond === 0 && this.queued === 0) {
      this.#inner.sendHeartbeat();
      return;
    }
    if (this.closed) return;
    this.#enqueue(undefined, 1);
  }

  onFrame(listener: (frame: StompFrame) => void): void {
    this.#inner.onFrame(listener);
  }

  onData(listener: () => void): void {
    this.#inner.onData(listener);
  }

  onProtocolError(listener: (error: Error) => void): void {
    this.#inner.onProtocolError(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    this.#inner.onClose(listener);
  }

  /** Closes once every queued write has left (a paced DISCONNECT receipt still arrives, late). */
  close(error?: Error): void {
    if (this.closed) return;
    if (this.queued === 0) this.#inner.close(error);
    else this.#closeAfterDrain = { error };
  }

  destroy(error?: Error): void {
    this.#dropQueue();
    this.#inner.destroy(error);
  }

  #enqueue(frame: FrameInit | undefined, size: number): void {
    const start = Math.max(this.#clock.now(), this.#busyUntil);
    // Back to back after what is queued, or from now when the link is idle: the bandwidth toxic's arithmetic.
    this.#busyUntil = start + (size * 1000) / this.#bytesPerSecond;
    this.#queue.push({ frame, dueAt: this.#busyUntil });
    if (this.#timer === undefined) this.#schedule();
  }

  #schedule(): void {
    const next = this.#queue[this.#head];
    if (next === undefined) return;
    this.#timer = this.#clock.setTimeout(this.#drain, Math.max(0, next.dueAt - this.#clock.now()));
    // The socket, not this timer, decides whether the process lives.
    this.#timer.unref?.();
  }

  readonly #drain = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (;;) {
      const next = this.#queue[this.#head];
      if (next === undefined || next.dueAt > now) break;
      this.#head++;
      if (next.frame === undefined) this.#inner.sendHeartbeat();
      else this.#inner.send(next.frame);
    }
    if (this.queued === 0) {
      this.#queue.length = 0;
      this.#head = 0;
      const pendingClose = this.#closeAfterDrain;
      if (pendingClose !== undefined) this.#inner.close(pendingClose.error);
      return;
    }
    this.#schedule();
  };

  #dropQueue(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.#head = 0;
  }
}
