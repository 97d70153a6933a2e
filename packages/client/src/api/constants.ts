/**
 * Protocol constants of VDSM's JSON-RPC/STOMP endpoint (vdsm-wire.md §1, §2.3).
 * Import them; never spell a destination or the port anywhere else.
 */

/** VDSM's management port (`[addresses] management_port`), TLS by default. */
export const DEFAULT_PORT = 54321;

/** STOMP destinations VDSM uses. */
export const Destination = {
  /** Clients SEND requests here (`SUBSCRIPTION_ID_REQUEST`). */
  Requests: 'jms.topic.vdsm_requests',
  /** The second request queue in VDSM's config (the engine's IRS/SPM connection). */
  IrsRequests: 'jms.topic.vdsm_irs_requests',
  /** Where VDSM sends responses it cannot route to a reply-to (parse errors, `id: null`). */
  Responses: 'jms.topic.vdsm_responses',
  /** Events (`[addresses] event_queue`). */
  Events: 'jms.queue.events',
} as const;
export type Destination = (typeof Destination)[keyof typeof Destination];

/** VDSM's request queues: a SEND to one of these, or to `<queue>.<anything>`, is a JSON-RPC request. */
export const REQUEST_QUEUES: readonly Destination[] = [Destination.Requests, Destination.IrsRequests];

/** The nil UUID VDSM uses for "none" (no parent volume, all images, ...). */
export const BLANK_UUID = '00000000-0000-0000-0000-000000000000';

/** The bodies of the ERROR frames VDSM's STOMP server sends (vdsm-wire.md §2.2, §2.4, §12). */
export const StompErrorText = {
  VersionUnsupported: 'Version unsupported',
  MissingSubscribeHeaders: 'Missing destination or subscription id header',
  SubscriptionIdExists: 'Subscription id already exists',
  MissingUnsubscribeId: 'Missing id header',
  SubscriptionNotAvailable: 'Subscription not available',
} as const;
