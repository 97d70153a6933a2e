/**
 * Errors raised by the client's own layers (codec, transports, session), as
 * undici does it: one base class, a stable string `code` per kind, `cause`
 * for the underlying error. Errors that VDSM itself reports (numeric codes)
 * are `VdsmError`s, in `api/errors.ts`.
 *
 * | code                              | class                 | meaning |
 * | --------------------------------- | --------------------- | ------- |
 * | VDSM_ERR_STOMP_PROTOCOL           | StompProtocolError    | malformed STOMP bytes |
 * | VDSM_ERR_STOMP_FRAME_TOO_LARGE    | FrameTooLargeError    | frame over `maxFrameSize` |
 * | VDSM_ERR_STOMP_TOO_MANY_HEADERS   | TooManyHeadersError   | more than `maxHeaders` headers |
 * | VDSM_ERR_STOMP_HEADER_TOO_LONG    | HeaderTooLongError    | a line over `maxHeaderLength` |
 * | VDSM_ERR_STOMP_ERROR_FRAME        | StompErrorFrameError  | the peer answered with an ERROR frame |
 * | VDSM_ERR_CONNECTION_CLOSED        | ConnectionClosedError | the channel closed |
 * | VDSM_ERR_CONNECT_TIMEOUT          | ConnectTimeoutError   | no CONNECTED in time |
 * | VDSM_ERR_HEARTBEAT_TIMEOUT        | HeartbeatTimeoutError | the peer went silent past its beat |
 */
export class VdsmKitError extends Error {
  readonly code: string = 'VDSM_ERR';
  override name = 'VdsmKitError';
}

export class StompProtocolError extends VdsmKitError {
  override readonly code: string = 'VDSM_ERR_STOMP_PROTOCOL';
  override name = 'StompProtocolError';
}

export class FrameTooLargeError extends StompProtocolError {
  override readonly code = 'VDSM_ERR_STOMP_FRAME_TOO_LARGE';
  override name = 'FrameTooLargeError';
}

export class TooManyHeadersError extends StompProtocolError {
  override readonly code = 'VDSM_ERR_STOMP_TOO_MANY_HEADERS';
  override name = 'TooManyHeadersError';
}

export class HeaderTooLongError extends StompProtocolError {
  override readonly code = 'VDSM_ERR_STOMP_HEADER_TOO_LONG';
  override name = 'HeaderTooLongError';
}

/** The peer sent an ERROR frame; `message` is its body (VDSM puts the reason there). */
export class StompErrorFrameError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_STOMP_ERROR_FRAME';
  override name = 'StompErrorFrameError';
  constructor(
    message: string,
    readonly headers: ReadonlyMap<string, string> = new Map(),
  ) {
    super(message);
  }
}

export class ConnectionClosedError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_CONNECTION_CLOSED';
  override name = 'ConnectionClosedError';
}

export class ConnectTimeoutError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_CONNECT_TIMEOUT';
  override name = 'ConnectTimeoutError';
}

export class HeartbeatTimeoutError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_HEARTBEAT_TIMEOUT';
  override name = 'HeartbeatTimeoutError';
}
