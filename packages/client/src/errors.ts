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
 * | VDSM_ERR_STOMP_FRAME_TIMEOUT      | FrameTimeoutError     | a frame left unfinished past `frameTimeoutMs` |
 * | VDSM_ERR_STOMP_FRAME_BUDGET       | FrameBudgetError      | unfinished frames of all connections over their shared budget |
 * | VDSM_ERR_STOMP_ERROR_FRAME        | StompErrorFrameError  | the peer answered with an ERROR frame |
 * | VDSM_ERR_CONNECTION_CLOSED        | ConnectionClosedError | the channel closed |
 * | VDSM_ERR_CONNECT_TIMEOUT          | ConnectTimeoutError   | no connection, TLS handshake or CONNECTED in time |
 * | VDSM_ERR_HEARTBEAT_TIMEOUT        | HeartbeatTimeoutError | the peer went silent past its beat |
 * | VDSM_ERR_RPC_PROTOCOL             | RpcProtocolError      | a JSON-RPC message VDSM would not send (or `id: null`) |
 * | VDSM_ERR_PKI                      | PkiError              | a TLS key, certificate or CA file is missing or unreadable |
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

export class FrameTimeoutError extends StompProtocolError {
  override readonly code = 'VDSM_ERR_STOMP_FRAME_TIMEOUT';
  override name = 'FrameTimeoutError';
}

export class FrameBudgetError extends StompProtocolError {
  override readonly code = 'VDSM_ERR_STOMP_FRAME_BUDGET';
  override name = 'FrameBudgetError';
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

/**
 * A JSON-RPC message that makes no sense: not JSON, not a response, event or
 * error VDSM would send, or a response VDSM could not tie to a request
 * (`id: null`, VDSM's answer to unparsable or invalid requests).
 */
export class RpcProtocolError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_RPC_PROTOCOL';
  override name = 'RpcProtocolError';
  constructor(
    message: string,
    /** The offending message (parsed JSON when it parsed, else the raw text). */
    readonly payload?: unknown,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A PKI file is missing, unreadable or not PEM. `path` names the file. */
export class PkiError extends VdsmKitError {
  override readonly code = 'VDSM_ERR_PKI';
  override name = 'PkiError';
  constructor(
    message: string,
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
