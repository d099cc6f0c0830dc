// The player's errors: their codes, the words a viewer reads for each, and the one mapping from what the
// origin answers (its JSON `error` code, else the HTTP status) to them. No DOM: tests import it in Node.

import {Scope} from "./defs.js";

/** Every code a PlayerError can carry: `error.code`, the root's `data-code` and the `error` event's. */
export const Code = Object.freeze({
  // The origin's own codes (hls_server/errors.py and app.py::_http_error); SERVER_CODES below.
  TOKEN_MISSING: "token_missing",
  TOKEN_INVALID: "token_invalid",
  TOKEN_EXPIRED: "token_expired",
  TOKEN_NOT_YET_VALID: "token_not_yet_valid",
  TOKEN_CONFLICT: "token_conflict",
  TOKEN_TOO_LARGE: "token_too_large",
  FORBIDDEN: "forbidden",
  NOT_FOUND: "not_found",
  BAD_REQUEST: "bad_request",
  METHOD_NOT_ALLOWED: "method_not_allowed",
  PAYLOAD_TOO_LARGE: "payload_too_large",
  NOT_CONFIGURED: "not_configured",
  // The ingest's answers (PUT /ingest/...): a publisher's, not a viewer's, but the table mirrors every code.
  REQUEST_TIMEOUT: "request_timeout",
  PUBLISHER_CONFLICT: "publisher_conflict",
  UNSUPPORTED_MEDIA: "unsupported_media",
  INVALID_PLAYLIST: "invalid_playlist",
  INSUFFICIENT_STORAGE: "insufficient_storage",
  // The player's.
  EMPTY: "empty",
  NOT_LIVE: "not_live",
  ENDED: "ended",
  NETWORK: "network",
  SERVER: "server",
  MEDIA: "media",
  UNSUPPORTED: "unsupported",
  BAD_CONFIG: "bad_config",
  DESTROYED: "destroyed",
  CANCELLED: "cancelled",
});

/** The codes of the origin's 401 answers. */
export const AUTH_CODES = Object.freeze([Code.TOKEN_MISSING, Code.TOKEN_INVALID, Code.TOKEN_EXPIRED,
  Code.TOKEN_NOT_YET_VALID, Code.TOKEN_CONFLICT, Code.TOKEN_TOO_LARGE]);

/** Every `error` code the origin's JSON answers can carry (tests/player/test_error_codes.py checks the list). */
export const SERVER_CODES = Object.freeze([...AUTH_CODES, Code.FORBIDDEN, Code.NOT_FOUND, Code.BAD_REQUEST,
  Code.METHOD_NOT_ALLOWED, Code.PAYLOAD_TOO_LARGE, Code.NOT_CONFIGURED, Code.REQUEST_TIMEOUT,
  Code.PUBLISHER_CONFLICT, Code.UNSUPPORTED_MEDIA, Code.INVALID_PLAYLIST, Code.INSUFFICIENT_STORAGE]);

/** Errors worth a "Try again" button. */
export const RETRYABLE_CODES = Object.freeze([Code.NETWORK, Code.SERVER, Code.MEDIA, Code.NOT_FOUND, Code.EMPTY,
  Code.NOT_LIVE, Code.ENDED, Code.NOT_CONFIGURED, Code.REQUEST_TIMEOUT, Code.INSUFFICIENT_STORAGE]);

/** A setup or load given up on purpose: nothing to show. */
export const SILENT_CODES = Object.freeze([Code.DESTROYED, Code.CANCELLED]);

const INVALID_TOKEN = ["This access token is not valid.",
  "Check that you opened the complete link you were given, or ask for a new one."];
const DAMAGED_LINK = "The link may be damaged; ask for a new one.";

/** code -> [message, hint]: what the viewer reads, and what to do. `forbidden_group` is forbidden for a group. */
const MESSAGES = {
  [Code.TOKEN_MISSING]: ["This stream needs an access token.",
    "Open the link you were given: it carries the token that lets you watch."],
  [Code.TOKEN_EXPIRED]: ["Your access has expired.",
    "Reload the page from the link you were given, or ask for a new link."],
  [Code.TOKEN_INVALID]: INVALID_TOKEN,
  [Code.TOKEN_CONFLICT]: INVALID_TOKEN,
  [Code.TOKEN_TOO_LARGE]: INVALID_TOKEN,
  [Code.TOKEN_NOT_YET_VALID]: ["This access token is not valid yet.",
    "It starts working at a later time. Check your device's clock, or try again later."],
  [Code.FORBIDDEN]: ["This token does not give access to this stream.",
    "Ask whoever gave you the link for one that includes this stream."],
  forbidden_group: ["This token does not give access to this group.",
    "Ask whoever gave you the link for one that includes this group."],
  [Code.NOT_FOUND]: ["This stream is not available.",
    "It does not exist or is not being published right now."],
  [Code.EMPTY]: ["Nothing is being published in this group yet.",
    "Playback starts here once a stream is published; the player checks again by itself."],
  [Code.NOT_LIVE]: ["This stream is not live yet.",
    "It starts when the broadcaster goes live; the player checks again by itself."],
  [Code.ENDED]: ["The stream has ended.",
    "The broadcaster stopped sending it. If it starts again, try again."],
  [Code.NETWORK]: ["The video server cannot be reached.",
    "Check your internet connection, then try again."],
  [Code.SERVER]: ["The video server ran into a problem.", "Try again in a moment."],
  [Code.MEDIA]: ["This video cannot be played.",
    "Its data could not be decoded in this browser. Try again, or use another browser."],
  [Code.UNSUPPORTED]: ["This browser cannot play this stream.",
    "Use a current version of Chrome, Edge, Firefox or Safari."],
  [Code.BAD_CONFIG]: ["The player is not set up correctly.", ""],
  [Code.BAD_REQUEST]: ["The video server did not understand the request.", DAMAGED_LINK],
  [Code.METHOD_NOT_ALLOWED]: ["The video server does not answer this kind of request.", DAMAGED_LINK],
  [Code.PAYLOAD_TOO_LARGE]: ["The video server refused a request that was too large.", DAMAGED_LINK],
  [Code.NOT_CONFIGURED]: ["Playback is not set up on this server yet.",
    "The site's operator needs to finish its setup."],
  [Code.REQUEST_TIMEOUT]: ["The video server stopped waiting for a request that stalled.",
    "Check your internet connection, then try again."],
  [Code.PUBLISHER_CONFLICT]: ["Another publisher is already live on this stream.",
    "One encoder publishes a stream at a time: stop the other one, or publish under another stream id."],
  [Code.UNSUPPORTED_MEDIA]: ["The video server refused media it does not take.",
    "Segments must be MPEG-TS or fragmented MP4 (ISO-BMFF)."],
  [Code.INVALID_PLAYLIST]: ["The video server refused a playlist that is not valid.",
    "A playlist must be HLS and name only files of its own stream."],
  [Code.INSUFFICIENT_STORAGE]: ["The video server is out of storage space.",
    "Nothing stored was lost. The site's operator needs to free space; then try again."],
  [Code.DESTROYED]: ["The player was closed.", ""],
  [Code.CANCELLED]: ["A newer request replaced this one.", ""],
};

/** `HlsGatePlayer.messages`: code -> {message, hint}, frozen. */
export const messages = Object.freeze(Object.fromEntries(Object.entries(MESSAGES).map(([code, [message, hint]]) =>
  [code, Object.freeze({message, hint})])));

export class PlayerError extends Error {
  /** `message` is the viewer-facing sentence; `hint` says what to do; `detail` is for the host's logs. */
  constructor(code, message, hint, detail) {
    super(message);
    this.name = "HlsGatePlayerError";
    this.code = code;
    this.hint = hint || "";
    this.detail = detail || "";
  }
}

/**
 * The error for `code`, in words. Options: `scope` ("group" words `forbidden` for a group), `status` (kept on
 * the error), `detail`, and `message`/`hint` to replace the table's. An unknown code becomes `media`.
 */
export function playerError(code, options = {}) {
  const known = Object.prototype.hasOwnProperty.call(MESSAGES, code);
  const key = code === Code.FORBIDDEN && options.scope === Scope.GROUP ? "forbidden_group" : code;
  const [message, hint] = known ? MESSAGES[key] : MESSAGES[Code.MEDIA];
  const error = new PlayerError(known ? code : Code.MEDIA, options.message || message, options.hint ?? hint,
    options.detail);
  if (options.status) error.status = options.status;
  return error;
}

/** A `bad_config` naming the field and what is wrong with it. */
export function configError(problem) {
  return new PlayerError(Code.BAD_CONFIG, `The player configuration is not valid: ${problem}.`,
    "The site embedding this player needs to fix its configuration.");
}

export const isServerCode = (code) => SERVER_CODES.includes(code);
export const isAuthCode = (code) => AUTH_CODES.includes(code);
export const isRetryable = (code) => RETRYABLE_CODES.includes(code);
export const isSilent = (error) => Boolean(error) && SILENT_CODES.includes(error.code);

/** An answer without a code of the origin's (another server, a proxy, an empty body): the status decides. */
export function codeForStatus(status) {
  if (status === 401) return Code.TOKEN_INVALID;
  if (status === 403) return Code.FORBIDDEN;
  if (status === 404 || status === 410) return Code.NOT_FOUND;
  if (status === 405) return Code.METHOD_NOT_ALLOWED;
  if (status === 413) return Code.PAYLOAD_TOO_LARGE;
  if (status === 400) return Code.BAD_REQUEST;
  if (status === 503) return Code.NOT_CONFIGURED;
  if (status === 409) return Code.PUBLISHER_CONFLICT;
  if (status === 415) return Code.UNSUPPORTED_MEDIA;
  if (status === 422) return Code.INVALID_PLAYLIST;
  if (status === 507) return Code.INSUFFICIENT_STORAGE;
  return Code.SERVER;
}

/** The origin's refusal `{status, code, description}` (code: its JSON `error`, or "") -> the error to show. */
export function errorForAnswer({status, code, description}, scope) {
  const chosen = isServerCode(code) ? code : codeForStatus(status);
  return playerError(chosen, {scope, status, detail: description});
}
