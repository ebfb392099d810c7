/**
 * open-cobrowse: the customer's side of co-browse as an ES module.
 *
 * ```ts
 * import { connect } from 'open-cobrowse';
 * const cobrowse = connect({ relay: 'https://cobrowse.example.com/', site: 'shop' });
 * cobrowse.on('end', ({ reason }) => console.log('co-browse ended:', reason));
 * await cobrowse.startWithKey('123456789012'); // the key the agent reads out
 * ```
 */

/** Why a session ended, as an `end` event's `detail.reason`. */
export type EndReason =
  | 'customer'
  | 'agent'
  | 'interaction-ended'
  | 'interaction-transferred'
  | 'inactivity'
  | 'error'
  /** The end-to-end key exchange failed: a mistyped code, or a relay that altered it. */
  | 'key-exchange-failed';

/** Every end reason, in the order above. */
export declare const END_REASONS: readonly EndReason[];

/** What each event's listener receives. */
export interface CobrowseEvents {
  /** Paired and sharing; `resumed` when a session carried over a page load in this tab. */
  start: { sessionId: string; resumed: boolean };
  /** The customer allowed the agent to click, type, scroll and navigate. */
  granted: {};
  /** Control went back to read-only (the customer revoked, or the grant did not survive). */
  revoked: {};
  /** Sharing paused on a page the site's `pause` rules name. */
  paused: {};
  /** Sharing resumed after a pause. */
  resumed: {};
  /** The session ended. */
  end: { reason: EndReason };
}

export type CobrowseEvent = keyof CobrowseEvents;

export interface ConnectOptions {
  /** The relay's base URL, as the script tag's `src` directory: `https://cobrowse.example.com/`. */
  relay: string | URL;
  /** The site key an admin created (`relay site add`). */
  site: string;
}

export interface Cobrowse {
  /** The relay's base URL, normalised to end in `/`. */
  readonly base: string;
  readonly site: string;
  /** Starts sharing with the 12-digit key an agent reads out (a call). Resolves when paired and sharing; rejects with the reason if not. */
  startWithKey(key: string): Promise<void>;
  /** Starts sharing by an offer token the agent sent in a chat, without a prompt. Resolves when paired; rejects with the reason if not. */
  acceptOffer(token: string): Promise<void>;
  /**
   * Shows the Accept / Decline prompt for an offer. Resolves once the prompt is shown; the
   * `start` event follows if the customer accepts.
   */
  offer(token: string): Promise<void>;
  /**
   * Shows the library's own box for the key the agent reads out. Resolves once it is shown;
   * the `start` event follows when the key pairs.
   */
  enterCode(): Promise<void>;
  /** Ends the session, if one is running. */
  end(): void;
  on<E extends CobrowseEvent>(event: E, listener: (detail: CobrowseEvents[E]) => void): Cobrowse;
  off<E extends CobrowseEvent>(event: E, listener: (detail: CobrowseEvents[E]) => void): Cobrowse;
}

/**
 * Connects this page to a relay for one site. Nothing is loaded until a session starts, or
 * resumes in this tab. One page holds one co-browse state: a second call with the same
 * relay and site returns the same object; with another relay or site it throws.
 */
export declare function connect(options: ConnectOptions): Cobrowse;
export default connect;

/**
 * A site's co-browse rules, as an admin sets them (`relay site rules`, the console's site
 * page) and the page reads them from the relay. Shown here for sites that keep them in code.
 */
export interface SiteRules {
  /** Elements whose text and values are masked (CSS selectors). */
  mask?: string | string[];
  /** Elements sent as empty boxes. */
  block?: string | string[];
  /** Elements the agent may never act on. */
  readonly?: string | string[];
  /** URL patterns that pause sharing (`*`: any run; starting with `/`: path and query). */
  pause?: string | string[];
  /** The agent may type into masked fields (what it types stays masked). */
  agentTypesMasked?: boolean;
  /** Submit buttons are read-only to the agent. */
  submitReadonly?: boolean;
  /** Everything is masked except inside `data-cobrowse-unmask`. */
  privateByDefault?: boolean;
  /** Sessions must be end-to-end encrypted: co-browse only by security code; the relay
   * refuses an offer accepted in a chat and drops any content or input that is not sealed. */
  requireEncryption?: boolean;
  /** The customer's pointer is sent at most once per this many milliseconds (0 to 10,000). */
  pointerIntervalMs?: number;
  /** A snapshot slice yields to the page after this many milliseconds (1 to 1,000; 25 by default). */
  sliceMs?: number;
  /** The durations, in seconds, the customer may grant control for (1 to 3,600 each, at most
   * four, besides "until I stop it"); none: 5, 15 and 30 minutes. */
  grantSecs?: number[];
}

/** The attributes a page puts on its own markup to steer masking and control. */
export type CobrowseAttribute =
  | 'data-cobrowse-mask'
  | 'data-cobrowse-block'
  | 'data-cobrowse-unmask'
  | 'data-cobrowse-readonly';
