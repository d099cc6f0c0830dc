/*
 * hlsgate web player: an H5Live-style JWT player config played with hls.js (or the browser's own HLS).
 *
 *   <script src="https://origin/player/vendor/hls.min.js"></script>
 *   <script src="https://origin/player/hlsgate-player.js"></script>
 *   new HlsGatePlayer("playerDiv").setup({source: {group: {id: "demo", security: {jwtoken: T}}}})
 *
 * The token travels in two places only: the Authorization header of the config request, and the `token=`
 * query parameter of the media URLs (the origin writes it into every URI of every playlist it serves).
 * It is never logged. See README.md for the config, the API, the events and the error codes.
 */
(function () {
  "use strict";

  const VERSION = "0.1.0";

  // The script's own URL, captured while it runs: its origin is the hlsgate server by default, so a page
  // on another origin that includes this script from the origin talks to that origin.
  const SCRIPT_URL = (document.currentScript && document.currentScript.src) || "";
  const DEFAULT_SERVER = SCRIPT_URL ? new URL(SCRIPT_URL).origin : window.location.origin;
  const STYLESHEET_URL = SCRIPT_URL ? new URL("hlsgate-player.css", SCRIPT_URL).href : "";

  const CONFIG_PATH = "/api/v1/player-config";
  const TOKEN_PARAM = "token";
  const HLS_MIME = "application/vnd.apple.mpegurl";
  const ENGINES = ["auto", "hlsjs", "native"];
  const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/; // hlsgate's stream and group ids

  const CONFIG_TIMEOUT_MS = 15000;
  const RENEW_TIMEOUT_MS = 15000;
  const DEFAULT_RENEW_BEFORE_S = 60;
  const MIN_RENEW_LEAD_S = 1;
  const RENEW_RETRY_FIRST_MS = 2000;
  const RENEW_RETRY_MAX_MS = 30000;
  const MAX_TIMER_MS = 24 * 3600 * 1000; // setTimeout overflows past 2^31-1 ms: long waits are chained
  const AUTH_RETRY_LIMIT = 4; // hls.js retries (1 s, 2 s, 4 s, 8 s) while a renewal after a 401 is under way
  const NETWORK_RECOVERY_LIMIT = 3;
  const NETWORK_RECOVERY_FIRST_MS = 2000;
  const MEDIA_RECOVERY_WINDOW_MS = 5000;
  const EMPTY_POLL_MS = 20000;
  const STALL_LIMIT_MS = 30000; // reconnecting this long without a single successful load ends in a message
  const DEFAULT_MAX_BUFFER_S = 60;
  const DEFAULT_BACK_BUFFER_S = 60;
  const NOTE_MS = 4000;
  const LIVE_EDGE_SLACK_TARGETS = 3; // target durations behind the live edge before the LIVE badge dims
  const MAX_TOKEN_LENGTH = 16384;
  const COMPACT_WIDTH_PX = 480;

  // -- viewer-facing messages --------------------------------------------------------------------------

  const INVALID_TOKEN = ["This access token is not valid.",
    "Check that you opened the complete link you were given, or ask for a new one."];
  const MESSAGES = {
    token_missing: ["This stream needs an access token.",
      "Open the link you were given: it carries the token that lets you watch."],
    token_expired: ["Your access has expired.",
      "Reload the page from the link you were given, or ask for a new link."],
    token_invalid: INVALID_TOKEN,
    token_conflict: INVALID_TOKEN,
    token_too_large: INVALID_TOKEN,
    token_not_yet_valid: ["This access token is not valid yet.",
      "It starts working at a later time. Check your device's clock, or try again later."],
    forbidden: ["This token does not give access to this stream.",
      "Ask whoever gave you the link for one that includes this stream."],
    forbidden_group: ["This token does not give access to this group.",
      "Ask whoever gave you the link for one that includes this group."],
    not_found: ["This stream is not available.",
      "It does not exist or is not being published right now."],
    empty: ["Nothing is being published in this group yet.",
      "Playback starts here once a stream is published; the player checks again by itself."],
    network: ["The video server cannot be reached.",
      "Check your internet connection, then try again."],
    server: ["The video server ran into a problem.", "Try again in a moment."],
    media: ["This video cannot be played.",
      "Its data could not be decoded in this browser. Try again, or use another browser."],
    unsupported: ["This browser cannot play this stream.",
      "Use a current version of Chrome, Edge, Firefox or Safari."],
    bad_config: ["The player is not set up correctly.", ""],
    bad_request: ["The video server did not understand the request.", "The link may be damaged; ask for a new one."],
    not_configured: ["Playback is not set up on this server yet.", "The site's operator needs to finish its setup."],
    destroyed: ["The player was closed.", ""],
    cancelled: ["A newer request replaced this one.", ""],
  };
  const SILENT_CODES = new Set(["destroyed", "cancelled"]); // a setup or load given up on purpose: nothing to show
  const RETRYABLE = new Set(["network", "server", "media", "not_found", "empty", "not_configured"]);
  const AUTH_CODES = new Set(["token_missing", "token_invalid", "token_expired", "token_not_yet_valid",
    "token_conflict", "token_too_large"]);
  const SERVER_CODES = new Set([...AUTH_CODES, "forbidden", "not_found", "bad_request", "not_configured"]);

  class PlayerError extends Error {
    /** `message` is the viewer-facing sentence; `hint` says what to do; `detail` is for the host's logs. */
    constructor(code, message, hint, detail) {
      super(message);
      this.name = "HlsGatePlayerError";
      this.code = code;
      this.hint = hint || "";
      this.detail = detail || "";
    }
  }

  function playerError(code, options) {
    const opts = options || {};
    const key = code === "forbidden" && opts.scope === "group" ? "forbidden_group" : code;
    const [message, hint] = MESSAGES[key] || MESSAGES.media;
    const error = new PlayerError(code in MESSAGES ? code : "media", opts.message || message, opts.hint ?? hint,
      opts.detail);
    if (opts.status) error.status = opts.status;
    return error;
  }

  function configError(problem) {
    return new PlayerError("bad_config", `The player configuration is not valid: ${problem}.`,
      "The site embedding this player needs to fix its configuration.");
  }

  // -- small helpers -----------------------------------------------------------------------------------

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
  const nowSeconds = () => Date.now() / 1000;
  const finite = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

  /** `base` with every key of `over` whose value is not undefined. */
  function overlay(base, over) {
    const out = Object.assign({}, isObject(base) ? base : {});
    if (isObject(over)) {
      for (const [key, value] of Object.entries(over)) {
        if (value !== undefined) out[key] = value;
      }
    }
    return out;
  }

  function isToken(value) {
    return typeof value === "string" && value.length > 0 && value.length <= MAX_TOKEN_LENGTH && !/\s/.test(value);
  }

  function httpUrl(value, base, where) {
    if (typeof value !== "string" || value === "") throw configError(`${where} is missing`);
    let url;
    try {
      url = new URL(value, base);
    } catch (err) {
      throw configError(`${where} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw configError(`${where} is not an http(s) URL`);
    return url.href;
  }

  /** The URL with `token=T` set (percent-encoded by URLSearchParams); unchanged without a token. */
  function withToken(url, token) {
    if (!token) return url;
    const parsed = new URL(url);
    parsed.searchParams.set(TOKEN_PARAM, token);
    return parsed.href;
  }

  /**
   * The URL with the value of its existing `token` query parameter replaced; other parameters are kept
   * byte for byte (no re-serialisation). A URL without a token parameter is returned as it is.
   */
  function replaceToken(url, token) {
    const hashAt = url.indexOf("#");
    const head = hashAt < 0 ? url : url.slice(0, hashAt);
    const fragment = hashAt < 0 ? "" : url.slice(hashAt);
    const queryAt = head.indexOf("?");
    if (queryAt < 0) return url;
    let found = false;
    const pairs = head.slice(queryAt + 1).split("&").map((pair) => {
      const name = pair.split("=", 1)[0];
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, " "));
      } catch (err) {
        // a malformed escape: not our parameter
      }
      if (decoded !== TOKEN_PARAM) return pair;
      found = true;
      return `${TOKEN_PARAM}=${encodeURIComponent(token)}`;
    });
    return found ? `${head.slice(0, queryAt + 1)}${pairs.join("&")}${fragment}` : url;
  }

  /** The claims of a JWT (base64url JSON between the dots), unverified: only used to learn exp/iat/nbf. */
  function jwtClaims(token) {
    if (typeof token !== "string") return null;
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(parts[1].length / 4) * 4, "=");
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const claims = JSON.parse(new TextDecoder().decode(bytes));
      return isObject(claims) ? claims : null;
    } catch (err) {
      return null;
    }
  }

  function formatTime(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
    const s = Math.floor(seconds % 60);
    const m = Math.floor(seconds / 60) % 60;
    const h = Math.floor(seconds / 3600);
    const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
    return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
  }

  function formatBitrate(bps) {
    if (!bps) return "";
    return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbps` : `${Math.round(bps / 1000)} kbps`;
  }

  /** playback.quality: "auto"/absent -> null; 720 or "720" -> "720p"; a label stays as it is. */
  function normaliseQuality(value) {
    if (value === undefined || value === null || value === "" || value === "auto") return null;
    const text = String(value).trim();
    return /^\d+$/.test(text) ? `${text}p` : text;
  }

  function sortLevels(levels) {
    return levels.sort((a, b) => (b.height || 0) - (a.height || 0) || (b.bitrate || 0) - (a.bitrate || 0));
  }

  /** Same label twice (two 720p rungs): tell them apart by bitrate. */
  function disambiguate(levels) {
    const counts = new Map();
    for (const level of levels) counts.set(level.label, (counts.get(level.label) || 0) + 1);
    for (const level of levels) {
      if (counts.get(level.label) > 1 && level.bitrate) {
        level.label = `${level.label} · ${formatBitrate(level.bitrate)}`;
      }
    }
    return levels;
  }

  function fetchWithTimeout(url, init, timeoutMs) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    return fetch(url, Object.assign({}, init, {signal: controller.signal})).finally(() => clearTimeout(timer));
  }

  async function readError(response) {
    try {
      const body = await response.json();
      if (isObject(body) && typeof body.error === "string") {
        const description = typeof body.error_description === "string" ? body.error_description : "";
        return {code: body.error, description};
      }
    } catch (err) {
      // not JSON: the status decides
    }
    return {code: "", description: ""};
  }

  function codeForStatus(status) {
    if (status === 401) return "token_invalid";
    if (status === 403) return "forbidden";
    if (status === 404 || status === 410) return "not_found";
    if (status === 400) return "bad_request";
    if (status === 503) return "not_configured";
    return "server";
  }

  // -- icons (drawn here; no external assets) ---------------------------------------------------------

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    play: [["path", {class: "fill",
      d: "M8 5.5v13a1 1 0 0 0 1.5.86l10.4-6.5a1 1 0 0 0 0-1.72L9.5 4.64A1 1 0 0 0 8 5.5z"}]],
    pause: [["rect", {x: 6, y: 5, width: 4, height: 14, rx: 1, class: "fill"}],
      ["rect", {x: 14, y: 5, width: 4, height: 14, rx: 1, class: "fill"}]],
    volume: [["path", {d: "M4 9.5h3.5L12 5.5v13l-4.5-4H4z", class: "fill"}],
      ["path", {d: "M15.5 9a4 4 0 0 1 0 6M18.5 6.5a7.5 7.5 0 0 1 0 11"}]],
    muted: [["path", {d: "M4 9.5h3.5L12 5.5v13l-4.5-4H4z", class: "fill"}], ["path", {d: "M16 9.5l5 5M21 9.5l-5 5"}]],
    fullscreen: [["path", {d: "M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"}]],
    exitFullscreen: [["path", {d: "M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"}]],
    lock: [["rect", {x: 5, y: 10.5, width: 14, height: 10, rx: 2}], ["path", {d: "M8.5 10.5V7.5a3.5 3.5 0 0 1 7 0v3"}],
      ["path", {d: "M12 14.5v2.5"}]],
    clock: [["circle", {cx: 12, cy: 12, r: 8.5}], ["path", {d: "M12 7.5V12l3 2"}]],
    offline: [["path", {d: "M3.5 9a12.5 12.5 0 0 1 17 0M6.5 12.5a8 8 0 0 1 11 0M9.5 16a3.5 3.5 0 0 1 5 0"}],
      ["path", {d: "M4 4l16 16"}]],
    broadcast: [["circle", {cx: 12, cy: 12, r: 2, class: "fill"}],
      ["path", {d: "M8 8a5.5 5.5 0 0 0 0 8M16 8a5.5 5.5 0 0 1 0 8M5 5a9.9 9.9 0 0 0 0 14M19 5a9.9 9.9 0 0 1 0 14"}]],
    alert: [["path", {d: "M12 4.5l8.5 15h-17z"}], ["path", {d: "M12 10v4"}],
      ["circle", {cx: 12, cy: 16.8, r: 0.6, class: "fill"}]],
    retry: [["path", {d: "M19.5 12a7.5 7.5 0 1 1-2.2-5.3"}], ["path", {d: "M19.5 4.5v4h-4"}]],
  };

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", `hlsgate-icon hlsgate-icon-${name}`);
    for (const [tag, attrs] of ICONS[name]) {
      const node = document.createElementNS(SVG_NS, tag);
      for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
      svg.appendChild(node);
    }
    return svg;
  }

  function iconForCode(code) {
    if (code === "token_expired" || code === "token_not_yet_valid") return "clock";
    if (AUTH_CODES.has(code) || code === "forbidden") return "lock";
    if (code === "network") return "offline";
    if (code === "empty" || code === "not_found") return "broadcast";
    return "alert";
  }

  function el(tag, className, attrs) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (attrs) for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  }

  function button(className, label, iconName) {
    const node = el("button", `hlsgate-button ${className}`, {type: "button", "aria-label": label, title: label});
    if (iconName) node.appendChild(icon(iconName));
    return node;
  }

  function setIcon(buttonNode, iconName, label) {
    buttonNode.replaceChildren(icon(iconName));
    buttonNode.setAttribute("aria-label", label);
    buttonNode.title = label;
  }

  /** Add hlsgate-player.css next to this script once, unless the page already links it (the /player/ page does). */
  function ensureStylesheet() {
    if (!STYLESHEET_URL) return;
    for (const link of document.querySelectorAll('link[rel~="stylesheet"]')) {
      if (link.href === STYLESHEET_URL || link.hasAttribute("data-hlsgate")) return;
    }
    const link = el("link", "", {rel: "stylesheet", href: STYLESHEET_URL, "data-hlsgate": ""});
    document.head.appendChild(link);
  }

  // -- config --------------------------------------------------------------------------------------------

  /** Entries -> [{index, label, stream, info, url, token}] (info.bitrate in kbps, as given). */
  function normaliseEntries(raw, base) {
    const seen = new Set();
    return raw.map((entry, position) => {
      const where = `source.entries[${position}]`;
      if (!isObject(entry)) throw configError(`${where} is not an object`);
      const h5live = isObject(entry.h5live) ? entry.h5live : {};
      const server = isObject(h5live.server) ? h5live.server : {};
      const url = httpUrl(server.hls, base, `${where}.h5live.server.hls`);
      const index = Number.isInteger(entry.index) ? entry.index : position;
      if (seen.has(index)) throw configError(`${where}.index ${index} is used twice`);
      seen.add(index);
      const info = isObject(entry.info) ? entry.info : {};
      const height = finite(info.height);
      const token = isObject(h5live.security) && isToken(h5live.security.jwtoken) ? h5live.security.jwtoken : null;
      const label = typeof entry.label === "string" && entry.label ? entry.label
        : height ? `${height}p` : `Quality ${position + 1}`;
      return {
        index, position, label, url, token,
        stream: typeof entry.stream === "string" && entry.stream ? entry.stream : null,
        info: {bitrate: finite(info.bitrate), width: finite(info.width), height, framerate: finite(info.framerate),
          codecs: typeof info.codecs === "string" ? info.codecs : null},
      };
    });
  }

  /** Streams -> [{id, master, entries: [entry]}]; without `source.streams`, entries are grouped by `stream`. */
  function normaliseStreams(source, entries, base) {
    const byIndex = new Map(entries.map((entry) => [entry.index, entry]));
    if (Array.isArray(source.streams) && source.streams.length > 0) {
      const ids = new Set();
      return source.streams.map((stream, position) => {
        const where = `source.streams[${position}]`;
        if (!isObject(stream) || typeof stream.id !== "string" || !stream.id) {
          throw configError(`${where}.id is missing`);
        }
        if (ids.has(stream.id)) throw configError(`stream ${JSON.stringify(stream.id)} is listed twice`);
        ids.add(stream.id);
        const master = stream.master == null ? null : httpUrl(stream.master, base, `${where}.master`);
        let members;
        if (Array.isArray(stream.entries)) {
          members = stream.entries.map((index) => {
            const entry = byIndex.get(index);
            if (!entry) {
              throw configError(`${where}.entries names entry ${JSON.stringify(index)}, which does not exist`);
            }
            return entry;
          });
        } else {
          members = entries.filter((entry) => entry.stream === stream.id);
        }
        if (!master && members.length === 0) throw configError(`${where} has neither a master playlist nor entries`);
        return {id: stream.id, master, entries: members};
      });
    }
    const fallbackId = scopeOf(source).id || "stream";
    const groups = new Map();
    for (const entry of entries) {
      const id = entry.stream || fallbackId;
      if (!groups.has(id)) groups.set(id, []);
      groups.get(id).push(entry);
    }
    return [...groups].map(([id, members]) => ({id, master: null, entries: members}));
  }

  function scopeOf(source) {
    if (isObject(source.group)) return {kind: "group", id: source.group.id, security: source.group.security};
    if (isObject(source.stream)) return {kind: "stream", id: source.stream.id, security: source.stream.security};
    return {kind: null, id: null, security: null};
  }

  function validateHostConfig(config) {
    if (!isObject(config)) throw configError("setup() needs a config object");
    if (!isObject(config.source)) throw configError("source is missing");
    const source = config.source;
    if (source.group !== undefined && source.stream !== undefined) {
      throw configError("give source.group or source.stream, not both");
    }
    if (source.entries !== undefined && !Array.isArray(source.entries)) {
      throw configError("source.entries is not a list");
    }
    for (const kind of ["group", "stream"]) {
      if (source[kind] === undefined) continue;
      const scope = source[kind];
      if (!isObject(scope) || typeof scope.id !== "string" || !scope.id) {
        throw configError(`source.${kind}.id is missing`);
      }
      if (!ID_PATTERN.test(scope.id)) throw configError(`source.${kind}.id must be 1-64 letters, digits, '-' or '_'`);
      if (scope.security !== undefined && !isObject(scope.security)) {
        throw configError(`source.${kind}.security is not an object`);
      }
      const token = isObject(scope.security) ? scope.security.jwtoken : undefined;
      if (token == null && source.entries === undefined) {
        // "" says "no token" on purpose (a server run with --no-auth, or a page opened without one)
        throw configError(`source.${kind}.security.jwtoken is missing: give the viewer's token`);
      }
      if (token != null && token !== "" && !isToken(token)) {
        throw configError(`source.${kind}.security.jwtoken is not a token`);
      }
    }
    if (source.entries === undefined && source.group === undefined && source.stream === undefined) {
      throw configError("source needs a group, a stream or entries");
    }
    for (const key of ["playback", "style", "security", "hlsgate"]) {
      if (config[key] !== undefined && !isObject(config[key])) throw configError(`${key} is not an object`);
    }
    const engine = config.playback && config.playback.engine;
    if (engine !== undefined && !ENGINES.includes(engine)) {
      throw configError(`playback.engine must be one of ${ENGINES.join(", ")}`);
    }
    const security = config.security || {};
    if (security.renewToken !== undefined && typeof security.renewToken !== "function") {
      throw configError("security.renewToken is not a function");
    }
    if (security.renewUrl != null && typeof security.renewUrl !== "string") {
      throw configError("security.renewUrl is not a URL");
    }
    if (config.playback && config.playback.hlsjs !== undefined && !isObject(config.playback.hlsjs)) {
      throw configError("playback.hlsjs is not an object of hls.js settings");
    }
    const server = config.hlsgate && config.hlsgate.server;
    if (server !== undefined) httpUrl(server, window.location.href, "hlsgate.server");
  }

  // -- the player ------------------------------------------------------------------------------------------

  class HlsGatePlayer {
    constructor(elementOrId) {
      const root = typeof elementOrId === "string" ? document.getElementById(elementOrId) : elementOrId;
      if (!(root instanceof HTMLElement)) {
        const what = typeof elementOrId === "string" ? `with id "${elementOrId}"` : "given";
        throw new Error(`HlsGatePlayer: no element ${what}`);
      }
      this.root = root;
      this.video = null;
      this.hls = null;
      this.levels = [];
      this.currentQuality = "auto";
      this.token = null;
      this.engine = null;
      this.config = null;
      this._listeners = new Map();
      this._timers = new Set();
      this._generation = 0;
      this._destroyed = false;
      this._hostConfig = null;
      this._state = "";
      this._error = null;
      this._note = "";
      this._statusText = "";
      this._buildDom();
    }

    // -- public API ----------------------------------------------------------------------------------------

    /** Resolves with the effective config once the source is loaded and its levels are known. */
    setup(config) {
      if (this._destroyed) return Promise.reject(playerError("destroyed"));
      this._hostConfig = config;
      return this._start().catch((error) => {
        throw this._failOnce(error);
      });
    }

    on(name, fn) {
      if (typeof fn !== "function") return this;
      if (!this._listeners.has(name)) this._listeners.set(name, new Set());
      this._listeners.get(name).add(fn);
      return this;
    }

    off(name, fn) {
      const set = this._listeners.get(name);
      if (set) {
        if (fn) set.delete(fn);
        else set.clear();
      }
      return this;
    }

    /** "auto" or a level index from `player.levels`. Returns false when that quality is not available. */
    setQuality(quality) {
      if (!this._stream || this._state === "error") return false;
      if (this._levelSource === "hls" && this.hls) {
        if (quality === "auto") {
          this.hls.nextLevel = -1; // back to ABR without flushing what is buffered
          this.currentQuality = "auto";
        } else {
          const index = Number(quality);
          if (!this.levels.some((level) => level.index === index)) return false;
          this.hls.currentLevel = index; // immediate switch
          this.currentQuality = index;
        }
        this._syncQualityMenu();
        this._renderStatus();
        return true;
      }
      if (this._levelSource === "entries") {
        const index = Number(quality);
        const entry = this._stream.entries.find((candidate) => candidate.index === index);
        if (!entry) return false;
        if (entry === this._entry) return true;
        this._reload({entry, keepTime: true}).catch(() => {});
        return true;
      }
      return quality === "auto";
    }

    /** Play another stream of the group. Resolves once its levels are known. */
    setStream(id) {
      const stream = this._streams && this._streams.find((candidate) => candidate.id === id);
      if (!stream) return Promise.reject(playerError("not_found"));
      if (stream === this._stream && this._state !== "error") return Promise.resolve(this.config);
      this._preferredQuality = null;
      return this._reload({stream, keepTime: false});
    }

    play() {
      if (!this.video) return Promise.resolve();
      return this.video.play();
    }

    pause() {
      if (this.video) this.video.pause();
    }

    get state() {
      return this._state;
    }

    get stream() {
      return this._stream ? this._stream.id : null;
    }

    get streams() {
      return this._streams ? this._streams.map((stream) => stream.id) : [];
    }

    /** When the current token expires: unix seconds on the server's clock, or null when unknown. */
    get expiresAt() {
      return this._expiry ? Math.round(this._expiry.serverSeconds) : null;
    }

    destroy() {
      if (this._destroyed) return;
      this._destroyed = true;
      this._generation += 1;
      this._stopPlayback();
      this._clearTimers();
      if (this._pendingLoad) this._pendingLoad.reject(playerError("destroyed"));
      this._pendingLoad = null;
      for (const [target, type, fn, options] of this._domListeners) target.removeEventListener(type, fn, options);
      this._domListeners = [];
      this._listeners.clear();
      this.root.replaceChildren();
      this.root.classList.remove("hlsgate-player");
      for (const name of ["data-state", "data-code", "data-engine", "data-live", "tabindex"]) {
        this.root.removeAttribute(name);
      }
      this.video = null;
    }

    // -- the DOM -------------------------------------------------------------------------------------------

    _buildDom() {
      ensureStylesheet();
      const root = this.root;
      root.replaceChildren();
      root.classList.add("hlsgate-player");
      root.setAttribute("tabindex", "-1");
      this._domListeners = [];

      const stage = el("div", "hlsgate-stage");
      const video = el("video", "hlsgate-video", {playsinline: "", "webkit-playsinline": "", preload: "auto"});
      video.playsInline = true;
      this.video = video;

      const spinner = el("div", "hlsgate-spinner", {"aria-hidden": "true"});
      const bigPlay = button("hlsgate-bigplay", "Play", "play");
      const unmute = button("hlsgate-unmute", "Unmute", "muted");
      const unmuteText = el("span");
      unmuteText.textContent = "Tap to unmute";
      unmute.appendChild(unmuteText);
      unmute.hidden = true;

      const message = el("div", "hlsgate-message", {role: "alert"});
      message.hidden = true;
      const messageIcon = el("div", "hlsgate-message-icon");
      const messageTitle = el("p", "hlsgate-message-title");
      const messageHint = el("p", "hlsgate-message-hint");
      const retry = el("button", "hlsgate-retry", {type: "button"});
      retry.append(icon("retry"), document.createTextNode("Try again"));
      const messageBody = el("div", "hlsgate-message-body");
      messageBody.append(messageIcon, messageTitle, messageHint, retry);
      message.appendChild(messageBody);

      stage.append(video, spinner, bigPlay, unmute, message);

      const bar = el("div", "hlsgate-bar");
      const seek = el("input", "hlsgate-seek", {type: "range", min: "0", max: "0", step: "any", value: "0",
        "aria-label": "Seek"});
      seek.hidden = true; // shown once there is a duration to seek in
      const controls = el("div", "hlsgate-controls");
      const playButton = button("hlsgate-play", "Play", "play");
      const muteButton = button("hlsgate-mute", "Mute", "volume");
      const volume = el("input", "hlsgate-volume", {type: "range", min: "0", max: "1", step: "0.05", value: "1",
        "aria-label": "Volume"});
      const time = el("span", "hlsgate-time");
      const live = el("button", "hlsgate-live", {type: "button", title: "Go to live"});
      live.textContent = "Live";
      live.hidden = true;
      const status = el("span", "hlsgate-status", {role: "status", "aria-live": "polite"});
      const spacer = el("span", "hlsgate-spacer");
      const streamSelect = el("select", "hlsgate-select hlsgate-stream", {"aria-label": "Stream", title: "Stream"});
      streamSelect.hidden = true;
      const qualitySelect = el("select", "hlsgate-select hlsgate-quality", {"aria-label": "Quality", title: "Quality"});
      const fullscreen = button("hlsgate-fullscreen", "Full screen", "fullscreen");
      controls.append(playButton, muteButton, volume, time, live, status, spacer, streamSelect, qualitySelect,
        fullscreen);
      bar.append(seek, controls);
      root.append(stage, bar);

      this._ui = {stage, spinner, bigPlay, unmute, message, messageIcon, messageTitle, messageHint, retry, bar, seek,
        playButton, muteButton, volume, time, live, status, streamSelect, qualitySelect, fullscreen};
      this._renderQualityMenu();
      this._wireDom();
      this._setState("loading");
    }

    _listen(target, type, fn, options) {
      target.addEventListener(type, fn, options);
      this._domListeners.push([target, type, fn, options]);
    }

    _wireDom() {
      const ui = this._ui;
      const video = this.video;
      const togglePlay = () => {
        if (this._state === "error" || this._state === "loading") return;
        if (video.paused || video.ended) this._play(true);
        else video.pause();
      };
      this._listen(ui.playButton, "click", togglePlay);
      this._listen(ui.bigPlay, "click", togglePlay);
      this._listen(video, "click", togglePlay);
      this._listen(video, "dblclick", () => this._toggleFullscreen());
      this._listen(ui.muteButton, "click", () => {
        video.muted = !video.muted;
        if (!video.muted && video.volume === 0) video.volume = 1;
      });
      this._listen(ui.unmute, "click", () => {
        video.muted = false;
        if (video.volume === 0) video.volume = 1;
      });
      this._listen(ui.volume, "input", () => {
        video.volume = Number(ui.volume.value);
        video.muted = video.volume === 0;
      });
      this._listen(ui.seek, "input", () => {
        if (Number.isFinite(video.duration)) video.currentTime = Number(ui.seek.value);
      });
      this._listen(ui.live, "click", () => this._goLive());
      this._listen(ui.fullscreen, "click", () => this._toggleFullscreen());
      this._listen(ui.retry, "click", () => this._retry());
      this._listen(ui.qualitySelect, "change", () => {
        const value = ui.qualitySelect.value;
        this.setQuality(value === "auto" ? "auto" : Number(value));
      });
      this._listen(ui.streamSelect, "change", () => {
        this.setStream(ui.streamSelect.value).catch(() => {});
      });
      this._listen(document, "fullscreenchange", () => this._renderFullscreen());
      this._listen(document, "webkitfullscreenchange", () => this._renderFullscreen());
      this._listen(document, "visibilitychange", () => {
        if (document.visibilityState === "visible") this._checkRenewalDue();
      });
      this._listen(window, "online", () => {
        if (this._error && this._error.code === "network") this._retry();
      });
      this._listen(this.root, "keydown", (event) => this._onKey(event));

      this._listen(video, "playing", () => {
        this._setState("playing");
        this._emit("playing", {});
      });
      this._listen(video, "pause", () => {
        // pause events are queued: one from an engine being stopped or an error arrives after the state moved on
        if (this._state === "error" || this._state === "loading" || this._swapping) return;
        this._setState("paused");
        this._emit("pause", {});
      });
      this._listen(video, "waiting", () => {
        if (!video.paused && this._state !== "error" && this._state !== "loading") this._setState("buffering");
      });
      this._listen(video, "seeked", () => {
        if (!video.paused && this._state === "buffering") this._setState("playing");
      });
      this._listen(video, "ended", () => {
        if (this._state !== "error") this._setState("paused");
      });
      this._listen(video, "timeupdate", () => this._renderTime());
      this._listen(video, "durationchange", () => this._renderTime());
      this._listen(video, "volumechange", () => this._renderVolume());
      this._listen(video, "resize", () => this._renderStatus());
      this._listen(video, "error", () => this._onNativeError());
      this._renderVolume();
    }

    _onKey(event) {
      if (event.target instanceof HTMLSelectElement || event.target instanceof HTMLInputElement) return;
      const key = (event.key || "").toLowerCase();
      if (key === " " || key === "k") {
        if (this._state === "error" || this._state === "loading") return;
        event.preventDefault();
        if (this.video.paused) this._play(true);
        else this.video.pause();
      } else if (key === "m") {
        this.video.muted = !this.video.muted;
      } else if (key === "f") {
        this._toggleFullscreen();
      }
    }

    _toggleFullscreen() {
      const doc = document;
      const current = doc.fullscreenElement || doc.webkitFullscreenElement;
      if (current) {
        (doc.exitFullscreen || doc.webkitExitFullscreen).call(doc);
      } else if (this.root.requestFullscreen) {
        const request = this.root.requestFullscreen();
        if (request && typeof request.catch === "function") request.catch(() => {});
      } else if (this.root.webkitRequestFullscreen) {
        this.root.webkitRequestFullscreen();
      } else if (this.video.webkitEnterFullscreen) {
        this.video.webkitEnterFullscreen(); // iPhone: only the video itself can go full screen
      }
    }

    _renderFullscreen() {
      const full = (document.fullscreenElement || document.webkitFullscreenElement) === this.root;
      this.root.classList.toggle("hlsgate-is-fullscreen", full);
      setIcon(this._ui.fullscreen, full ? "exitFullscreen" : "fullscreen", full ? "Exit full screen" : "Full screen");
    }

    _renderVolume() {
      const video = this.video;
      if (!video) return;
      const muted = video.muted || video.volume === 0;
      setIcon(this._ui.muteButton, muted ? "muted" : "volume", muted ? "Unmute" : "Mute");
      this._ui.volume.value = String(muted ? 0 : video.volume);
      this._ui.volume.style.setProperty("--hlsgate-fill", `${(muted ? 0 : video.volume) * 100}%`);
      const style = (this.config && this.config.style) || {};
      this._ui.unmute.hidden = !(muted && this._autoMuted && style.displayMutedAutoplay !== false
        && this._state !== "error");
      if (!muted) this._autoMuted = false;
    }

    _renderTime() {
      const video = this.video;
      const ui = this._ui;
      const duration = video.duration;
      const live = this._isLive();
      this.root.toggleAttribute("data-live", live);
      ui.live.hidden = !live;
      ui.seek.hidden = live || !Number.isFinite(duration) || duration <= 0;
      ui.time.hidden = live;
      if (live) {
        ui.live.classList.toggle("hlsgate-behind", this._behindLive());
        return;
      }
      const current = video.currentTime || 0;
      ui.time.textContent = Number.isFinite(duration) && duration > 0
        ? `${formatTime(current)} / ${formatTime(duration)}` : formatTime(current);
      if (!ui.seek.hidden) {
        ui.seek.max = String(duration);
        if (document.activeElement !== ui.seek) ui.seek.value = String(current);
        ui.seek.style.setProperty("--hlsgate-fill", `${Math.min(100, (current / duration) * 100)}%`);
      }
    }

    _isLive() {
      if (this.hls) {
        const details = this.hls.latestLevelDetails;
        return Boolean(details && details.live);
      }
      return this.video ? this.video.duration === Infinity : false;
    }

    _behindLive() {
      if (!this.hls || this.hls.liveSyncPosition == null) return false;
      const details = this.hls.latestLevelDetails;
      const target = (details && details.targetduration) || 4;
      return this.hls.liveSyncPosition - this.video.currentTime > target * LIVE_EDGE_SLACK_TARGETS;
    }

    _goLive() {
      if (this.hls && this.hls.liveSyncPosition != null) this.video.currentTime = this.hls.liveSyncPosition;
      else if (this.video.seekable.length) {
        this.video.currentTime = this.video.seekable.end(this.video.seekable.length - 1);
      }
      if (this.video.paused) this._play(true);
    }

    _renderStreamMenu() {
      const select = this._ui.streamSelect;
      const streams = this._streams || [];
      select.replaceChildren(...streams.map((stream) => {
        const option = el("option");
        option.value = stream.id;
        option.textContent = stream.id;
        return option;
      }));
      select.hidden = streams.length < 2;
      if (this._stream) select.value = this._stream.id;
    }

    _renderQualityMenu() {
      const select = this._ui.qualitySelect;
      const options = [];
      if (this._levelSource !== "entries") {
        const auto = el("option");
        auto.value = "auto";
        auto.textContent = "Auto";
        options.push(auto);
      }
      for (const level of this.levels) {
        const option = el("option");
        option.value = String(level.index);
        option.textContent = level.label;
        options.push(option);
      }
      select.replaceChildren(...options);
      select.disabled = options.length < 2;
      this._syncQualityMenu();
    }

    _syncQualityMenu() {
      const select = this._ui.qualitySelect;
      select.value = String(this.currentQuality);
      const auto = select.querySelector('option[value="auto"]');
      if (auto) {
        const playing = this._playingLabel();
        const roomy = this.root.clientWidth >= COMPACT_WIDTH_PX; // a narrow bar keeps "Auto" short
        auto.textContent = this.currentQuality === "auto" && playing && this.levels.length > 1 && roomy
          ? `Auto (${playing})` : "Auto";
      }
    }

    /** The label of what is on screen now: the hls.js level playing, the entry, or the video's height. */
    _playingLabel() {
      if (this._levelSource === "hls" && this.hls) {
        const index = this._shownLevel != null ? this._shownLevel : this.hls.currentLevel;
        const level = this.levels.find((candidate) => candidate.index === index);
        if (level) return level.label;
      }
      if (this._levelSource === "entries" && this._entry) return this._entry.label;
      if (this.video && this.video.videoHeight) return `${this.video.videoHeight}p`;
      return "";
    }

    _setState(state) {
      if (this._destroyed) return;
      if (state !== this._state) {
        this._state = state;
        this.root.setAttribute("data-state", state);
        const ui = this._ui;
        ui.playButton.disabled = state === "loading" || state === "error";
        const playing = state === "playing" || state === "buffering";
        setIcon(ui.playButton, playing ? "pause" : "play", playing ? "Pause" : "Play");
        ui.bigPlay.hidden = !(state === "ready" || state === "paused");
      }
      this._renderStatus();
    }

    _renderStatus() {
      if (this._destroyed) return;
      let text;
      const label = this._playingLabel();
      switch (this._state) {
        case "loading": text = "Loading…"; break;
        case "ready": text = label ? `Ready · ${label}` : "Ready"; break;
        case "playing": {
          const parts = ["Playing"];
          if (label) parts.push(label);
          if (this.currentQuality === "auto" && this._levelSource !== "entries") parts.push("Auto");
          text = parts.join(" · ");
          break;
        }
        case "paused": text = "Paused"; break;
        case "buffering": text = "Buffering…"; break;
        case "error": text = this._error ? this._error.message : "Error"; break;
        default: text = "";
      }
      if (this._state !== "error") {
        if (this._reconnecting) text = "Reconnecting…";
        else if (this._note) text = this._note;
      }
      this._syncQualityMenu();
      if (text !== this._statusText) {
        this._statusText = text;
        this._ui.status.textContent = text;
        this._emit("status", {state: this._state, text});
      }
    }

    /** A short-lived status note ("Token renewed") that yields to the state's own text afterwards. */
    _flashNote(text) {
      this._note = text;
      this._renderStatus();
      clearTimeout(this._noteTimer);
      this._timers.delete(this._noteTimer);
      this._noteTimer = this._later(() => {
        this._note = "";
        this._renderStatus();
      }, NOTE_MS);
    }

    _setReconnecting(value) {
      if (this._reconnecting === value) return;
      this._reconnecting = value;
      this._renderStatus();
    }

    _fail(error) {
      if (this._destroyed) return;
      this._error = error;
      this._reconnecting = false;
      const ui = this._ui;
      ui.messageIcon.replaceChildren(icon(iconForCode(error.code)));
      ui.messageTitle.textContent = error.message;
      ui.messageHint.textContent = error.hint || "";
      ui.messageHint.hidden = !error.hint;
      ui.retry.hidden = !RETRYABLE.has(error.code);
      ui.message.hidden = false;
      ui.unmute.hidden = true;
      this.root.setAttribute("data-code", error.code);
      this._setState("error");
      if (this.video && !this.video.paused) this.video.pause(); // no sound under the message
      if (this._pendingLoad) {
        this._pendingLoad.reject(error);
        this._pendingLoad = null;
      }
      this._emit("error", {code: error.code, message: error.message, hint: error.hint});
      if (error.code === "empty") this._later(() => this._retry(), EMPTY_POLL_MS);
    }

    /** Show `error` unless it is already shown (a load rejects with the error its handler displayed). */
    _failOnce(error) {
      const failure = error instanceof PlayerError ? error : playerError("media", {detail: String(error)});
      if (failure !== this._error && !SILENT_CODES.has(failure.code)) this._fail(failure);
      return failure;
    }

    _clearError() {
      this._error = null;
      this._ui.message.hidden = true;
      this.root.removeAttribute("data-code");
    }

    _retry() {
      if (this._destroyed) return;
      const restart = !this.config || !this._stream || (this._error && this._error.code === "empty");
      this._clearError();
      if (restart) {
        this._start().catch((error) => this._failOnce(error)); // fetch the config again, then play
        return;
      }
      this._reload({keepTime: true}).catch(() => {});
    }

    // -- events ----------------------------------------------------------------------------------------------

    _emit(name, data) {
      const set = this._listeners.get(name);
      if (!set) return;
      for (const fn of [...set]) {
        try {
          fn.call(this, data);
        } catch (err) {
          console.error(`hlsgate-player: a "${name}" listener threw`, err);
        }
      }
    }

    _later(fn, ms) {
      const timer = setTimeout(() => {
        this._timers.delete(timer);
        if (!this._destroyed) fn();
      }, ms);
      this._timers.add(timer);
      return timer;
    }

    _clearTimers() {
      for (const timer of this._timers) clearTimeout(timer);
      this._timers.clear();
      this._renewTimer = null;
      this._stallTimer = null;
    }

    // -- setup -----------------------------------------------------------------------------------------------

    async _start() {
      const generation = ++this._generation;
      this._stopPlayback();
      this._clearTimers();
      this._clearError();
      this.config = null;
      this._streams = null;
      this._stream = null;
      this.levels = [];
      this._levelSource = null;
      this._renderQualityMenu();
      this._renderStreamMenu();
      this._setState("loading");

      validateHostConfig(this._hostConfig);
      const config = await this._resolveConfig(this._hostConfig);
      if (generation !== this._generation) throw this._superseded();
      this.config = config;
      const source = config.source;
      const scope = scopeOf(source);
      this._scope = scope.kind;

      if (source.entries.length === 0) {
        if (scope.kind === "group") throw playerError("empty");
        if (scope.kind === "stream") throw playerError("not_found");
        throw configError("source.entries is empty");
      }
      const base = (config.hlsgate && config.hlsgate.server) || DEFAULT_SERVER;
      const entries = normaliseEntries(source.entries, base);
      const streams = normaliseStreams(source, entries, base);
      const startIndex = source.startIndex === undefined ? 0 : source.startIndex;
      if (!Number.isInteger(startIndex) || startIndex < 0 || startIndex >= entries.length) {
        throw configError("source.startIndex is not the position of an entry");
      }
      const startEntry = entries[startIndex];
      const scopeToken = isObject(scope.security) && isToken(scope.security.jwtoken) ? scope.security.jwtoken : null;
      this._baseToken = scopeToken || startEntry.token || (entries.find((entry) => entry.token) || {}).token || null;
      this._renewed = false;
      this._streams = streams;
      this._initExpiry(config.security, this._baseToken);
      this.engine = this._chooseEngine(config.playback.engine || "auto");
      this.root.setAttribute("data-engine", this.engine);
      this._preferredQuality = normaliseQuality(config.playback.quality);
      this._initialMute = true;

      const stream = streams.find((candidate) => candidate.entries.includes(startEntry)) || streams[0];
      await this._load({stream, entry: stream.entries.includes(startEntry) ? startEntry : null, keepTime: false,
        autoplay: config.playback.autoplay !== false});
      if (generation !== this._generation) throw this._superseded();
      this._scheduleRenewal();
      this._emit("ready", {config, levels: this.levels, stream: this.stream, engine: this.engine});
      return config;
    }

    /** Why an older setup or load stops: the player was destroyed, or a newer one took its place. */
    _superseded() {
      return playerError(this._destroyed ? "destroyed" : "cancelled");
    }

    async _resolveConfig(host) {
      const source = host.source;
      let fetched = null;
      if (!Array.isArray(source.entries)) fetched = await this._fetchConfig(host);
      const base = fetched || {};
      const config = Object.assign({}, base, host);
      config.source = fetched ? fetched.source : source;
      if (!isObject(config.source) || !Array.isArray(config.source.entries)) {
        throw playerError("server", {detail: "the player config has no source.entries"});
      }
      config.playback = overlay(overlay({autoplay: true, automute: true, muted: false}, base.playback), host.playback);
      config.style = overlay(overlay({displayMutedAutoplay: true}, base.style), host.style);
      config.security = overlay(base.security, host.security);
      config.hlsgate = overlay({server: DEFAULT_SERVER}, host.hlsgate);
      if (fetched && isObject(fetched.security)) this._clockOffset = this._offsetFrom(fetched.security);
      else this._clockOffset = this._offsetFrom(config.security);
      return config;
    }

    /** Seconds to add to the browser's clock to get the server's (from `security.serverTime`). */
    _offsetFrom(security) {
      const serverTime = isObject(security) ? finite(security.serverTime) : null;
      return serverTime === null ? 0 : serverTime - nowSeconds();
    }

    async _fetchConfig(host) {
      const scope = scopeOf(host.source);
      const server = (host.hlsgate && host.hlsgate.server) || DEFAULT_SERVER;
      const url = new URL(CONFIG_PATH, server);
      url.searchParams.set(scope.kind, scope.id);
      const token = isObject(scope.security) && isToken(scope.security.jwtoken) ? scope.security.jwtoken : null;
      const headers = {Accept: "application/json"};
      if (token) headers.Authorization = `Bearer ${token}`;
      let response;
      try {
        response = await fetchWithTimeout(url.href, {headers, credentials: "omit", cache: "no-store",
          referrerPolicy: "no-referrer"}, CONFIG_TIMEOUT_MS);
      } catch (err) {
        throw playerError("network", {detail: `${url.origin}${CONFIG_PATH}: ${err && err.name}`});
      }
      if (!response.ok) {
        const body = await readError(response);
        const code = SERVER_CODES.has(body.code) ? body.code : codeForStatus(response.status);
        throw playerError(code, {scope: scope.kind, status: response.status, detail: body.description});
      }
      let config;
      try {
        config = await response.json();
      } catch (err) {
        throw playerError("server", {detail: "the player config is not JSON"});
      }
      if (!isObject(config)) throw playerError("server", {detail: "the player config is not an object"});
      return config;
    }

    _chooseEngine(wanted) {
      const Hls = window.Hls;
      const hlsOk = typeof Hls === "function" && typeof Hls.isSupported === "function" && Hls.isSupported();
      const nativeOk = Boolean(this.video.canPlayType(HLS_MIME));
      if (wanted === "hlsjs") {
        if (!hlsOk) throw playerError("unsupported", {detail: "hls.js is not loaded or MSE is missing"});
        return "hlsjs";
      }
      if (wanted === "native") {
        if (!nativeOk) throw playerError("unsupported", {detail: "this browser has no HLS of its own"});
        return "native";
      }
      if (hlsOk) return "hlsjs";
      if (nativeOk) return "native";
      throw playerError("unsupported");
    }

    // -- loading ---------------------------------------------------------------------------------------------

    /** Stop the engine and load `stream` (and `entry`, for entries without a master) again. */
    _reload(options) {
      const generation = this._generation;
      const stream = options.stream || this._stream;
      const entry = options.entry || (options.stream ? null : this._entry);
      const wasPlaying = this.video && !this.video.paused && this._state !== "error";
      let autoplay = options.autoplay;
      if (autoplay === undefined) {
        const starting = this._state === "error" || this._state === "loading";
        autoplay = wasPlaying || this._state === "buffering" || (starting && this.config.playback.autoplay !== false);
      }
      this._clearError();
      return this._load({stream, entry, keepTime: options.keepTime, autoplay}).then(() => {
        if (generation === this._generation) this._scheduleRenewal();
        if (generation === this._generation && options.stream) {
          this._emit("stream", {id: stream.id, levels: this.levels});
        }
        if (generation === this._generation && options.entry && this._levelSource === "entries") {
          const level = this.levels.find((candidate) => candidate.index === options.entry.index) || null;
          this._emit("quality", {index: options.entry.index, label: options.entry.label, auto: false, level});
        }
        return this.config;
      });
    }

    _load({stream, entry, keepTime, autoplay}) {
      const startTime = keepTime && this.video && Number.isFinite(this.video.duration) ? this.video.currentTime : -1;
      this._stopPlayback();
      this._setState("loading");
      this._stream = stream;
      this._entry = stream.master ? null : entry || this._preferredEntry(stream) || stream.entries[0];
      this._autoplay = autoplay;
      this._networkRecoveries = 0;
      this._authEpisode = null;
      this._mediaRecoveries = [];
      this.token = this._renewed ? this._baseToken : (this._entry && this._entry.token) || this._baseToken;
      if (this._entry && this._entry.token && !this._renewed && this._entry.token !== this._baseToken) {
        this._initExpiry(null, this._entry.token);
      }
      const url = stream.master || this._entry.url;
      this._mediaUrl = url;
      this._mediaOrigin = new URL(url).origin;
      this._renderStreamMenu();
      if (this._entry) {
        this.levels = sortLevels(stream.entries.map((candidate) => ({index: candidate.index, label: candidate.label,
          width: candidate.info.width, height: candidate.info.height,
          bitrate: candidate.info.bitrate ? candidate.info.bitrate * 1000 : null})));
        this._levelSource = "entries";
        this.currentQuality = this._entry.index;
      } else {
        this.levels = [];
        this._levelSource = this.engine === "hlsjs" ? "hls" : "native";
        this.currentQuality = "auto";
      }
      this._renderQualityMenu();

      if (this._pendingLoad) this._pendingLoad.reject(this._superseded()); // a newer load wins
      return new Promise((resolve, reject) => {
        this._pendingLoad = {resolve, reject};
        try {
          if (this.engine === "hlsjs") this._loadHls(url, startTime);
          else this._loadNative(url, startTime);
        } catch (err) {
          // hls.js refused its settings (playback.hlsjs) or the media element refused the URL
          this._fail(playerError("media", {detail: err && err.message}));
        }
      });
    }

    _preferredEntry(stream) {
      const wanted = this._preferredQuality;
      if (wanted === null) return null;
      return stream.entries.find((entry) => entry.label === wanted)
        || stream.entries.find((entry) => entry.info.height && `${entry.info.height}p` === wanted) || null;
    }

    _loaded() {
      if (this._pendingLoad) {
        this._pendingLoad.resolve();
        this._pendingLoad = null;
      }
      this._setState("ready");
      this._renderTime();
      if (this._autoplay) this._play(false);
    }

    /**
     * Start playback. Autoplay follows playback.muted/automute: when the browser refuses sound, retry muted
     * (if automute); when it refuses that too, the big play button waits for the viewer.
     */
    _play(byViewer) {
      const video = this.video;
      const playback = (this.config && this.config.playback) || {};
      if (this._initialMute) {
        this._initialMute = false; // once per setup: a viewer who unmuted stays unmuted across reloads
        if (!byViewer && playback.muted) {
          video.muted = true;
          this._autoMuted = true;
        }
      }
      const attempt = video.play();
      if (!attempt || typeof attempt.catch !== "function") return;
      attempt.catch((err) => {
        if (this._destroyed || !err || err.name !== "NotAllowedError") return;
        if (!video.muted && playback.automute !== false) {
          video.muted = true;
          this._autoMuted = true;
          video.play().catch(() => this._setState(this._state === "error" ? "error" : "ready"));
        } else if (this._state !== "error") {
          this._setState("ready");
        }
      }).finally(() => this._renderVolume());
    }

    _stopPlayback() {
      if (this.hls) {
        this.hls.destroy();
        this.hls = null;
      }
      this._shownLevel = null;
      this._reconnecting = false;
      const video = this.video;
      if (video && (video.getAttribute("src") || video.srcObject)) {
        video.pause();
        video.removeAttribute("src");
        video.load();
      }
      this._nativeWanted = null;
      this._swapping = false;
    }

    // -- hls.js -------------------------------------------------------------------------------------------

    _loadHls(url, startTime) {
      const Hls = window.Hls;
      const authRetry = (retryConfig, retryCount, isTimeout, response, retry) => {
        if (response && response.code === 401 && this._canRenew() && this._authEpisode !== "failed"
          && retryCount < AUTH_RETRY_LIMIT) {
          this._renewAfterUnauthorized();
          return true;
        }
        return retry;
      };
      // the host's hls.js settings, without undefined values (hls.js would take `loader: undefined` literally)
      const extra = overlay({}, this.config && this.config.playback && this.config.playback.hlsjs);
      const hls = new Hls({
        enableWorker: true,
        // hls.js buffers up to 10 minutes ahead by default; a minute is plenty and keeps downloads to what is watched
        maxMaxBufferLength: DEFAULT_MAX_BUFFER_S,
        backBufferLength: DEFAULT_BACK_BUFFER_S,
        ...extra, // the host's hls.js settings (buffer lengths ...); what follows is the player's and wins
        debug: false, // hls.js's logs name URLs, and those carry the token
        startPosition: startTime,
        // Every request goes through here: the token parameter the origin wrote into the URL is replaced with
        // the current token, so requests made after a renewal carry the new one. xhrSetup runs before
        // hls.js opens the request; opening it here makes hls.js keep this URL (see README).
        xhrSetup: (xhr, requestUrl) => {
          xhr.open("GET", this._rewrite(requestUrl), true);
        },
        fetchSetup: (context, init) => new Request(this._rewrite(context.url), init),
        manifestLoadPolicy: withRetryHook(Hls.DefaultConfig.manifestLoadPolicy, authRetry),
        playlistLoadPolicy: withRetryHook(Hls.DefaultConfig.playlistLoadPolicy, authRetry),
        fragLoadPolicy: withRetryHook(Hls.DefaultConfig.fragLoadPolicy, authRetry),
        keyLoadPolicy: withRetryHook(Hls.DefaultConfig.keyLoadPolicy, authRetry),
      });
      this.hls = hls;
      const Events = Hls.Events;
      hls.on(Events.MANIFEST_PARSED, () => {
        if (this.hls !== hls) return;
        this._onLevels(hls);
        this._applyPreferredQuality(hls);
        this._loaded();
      });
      hls.on(Events.LEVELS_UPDATED, () => {
        if (this.hls === hls && this._levelSource === "hls") this._onLevels(hls);
      });
      hls.on(Events.LEVEL_SWITCHED, (event, data) => {
        if (this.hls !== hls) return;
        this._shownLevel = data.level;
        this._renderStatus();
        if (this._levelSource === "hls") {
          const level = this.levels.find((candidate) => candidate.index === data.level) || null;
          this._emit("quality", {index: data.level, label: level ? level.label : "",
            auto: this.currentQuality === "auto", level});
        }
      });
      hls.on(Events.LEVEL_LOADED, () => {
        if (this.hls !== hls) return;
        this._renderTime();
        this._onLoadSuccess();
      });
      hls.on(Events.FRAG_LOADED, () => {
        if (this.hls === hls) this._onLoadSuccess();
      });
      hls.on(Events.ERROR, (event, data) => {
        if (this.hls === hls) this._onHlsError(hls, data);
      });
      hls.loadSource(withToken(url, this.token));
      hls.attachMedia(this.video);
    }

    _onLevels(hls) {
      const entries = this._stream.entries;
      if (this._levelSource === "entries" && hls.levels.length > 1) {
        // An entry's URL that is itself a master with several variants: hls.js chooses among them.
        this._levelSource = "hls";
        this.currentQuality = "auto";
      }
      if (this._levelSource !== "hls") {
        this._renderQualityMenu();
        return;
      }
      const levels = hls.levels.map((level, index) => {
        const height = level.height || null;
        let match = null;
        for (const entry of entries) {
          if (entry.info.height !== height) continue;
          const distance = Math.abs((entry.info.bitrate || 0) * 1000 - (level.bitrate || 0));
          if (!match || distance < match.distance) match = {entry, distance};
        }
        const label = match ? match.entry.label
          : height ? `${height}p` : formatBitrate(level.bitrate) || `Level ${index + 1}`;
        return {index, label, width: level.width || null, height, bitrate: level.bitrate || null};
      });
      this.levels = disambiguate(sortLevels(levels));
      if (this.currentQuality !== "auto" && !this.levels.some((level) => level.index === this.currentQuality)) {
        this.currentQuality = "auto";
      }
      this._renderQualityMenu();
    }

    _applyPreferredQuality(hls) {
      const wanted = this._preferredQuality;
      if (this._levelSource !== "hls" || wanted === null) return;
      const level = this.levels.find((candidate) => candidate.label === wanted)
        || this.levels.find((candidate) => candidate.height && `${candidate.height}p` === wanted);
      if (!level) return;
      hls.currentLevel = level.index;
      this.currentQuality = level.index;
      this._syncQualityMenu();
    }

    /** Reconnecting for too long without one successful load: say so instead of spinning forever. */
    _watchStall() {
      if (this._stallTimer) return;
      this._stallTimer = this._later(() => {
        this._stallTimer = null;
        if (!this._reconnecting || this._state === "error") return;
        const status = this._lastNetworkStatus || 0;
        const code = status >= 400 && status < 500 ? codeForStatus(status) : status >= 500 ? "server" : "network";
        this._fail(playerError(code, {scope: this._scope, status}));
      }, STALL_LIMIT_MS);
    }

    _onLoadSuccess() {
      if (this._stallTimer) {
        clearTimeout(this._stallTimer);
        this._timers.delete(this._stallTimer);
        this._stallTimer = null;
      }
      this._networkRecoveries = 0;
      if (this._authEpisode && this._authEpisode !== "pending") this._authEpisode = null;
      this._setReconnecting(false);
    }

    _onHlsError(hls, data) {
      const Hls = window.Hls;
      const status = data.response && typeof data.response.code === "number" ? data.response.code : 0;
      if (!data.fatal) {
        if (data.type !== Hls.ErrorTypes.NETWORK_ERROR) return;
        // hls.js does not give up on a 401 or 403 (it tries the other levels, again and again): the answer is
        // final unless a renewal is under way (the retry hook keeps those requests going meanwhile).
        if (status === 401 && !(this._canRenew() && this._authEpisode !== "failed")) {
          this._fail(this._unauthorizedError());
        } else if (status === 403) {
          this._fail(playerError("forbidden", {scope: this._scope, status}));
        } else if (status !== 401) {
          this._lastNetworkStatus = status;
          this._setReconnecting(true);
          this._watchStall();
        }
        return;
      }
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        this._recoverMedia(hls);
        return;
      }
      if (data.type !== Hls.ErrorTypes.NETWORK_ERROR) {
        this._fail(playerError("media", {detail: data.details}));
        return;
      }
      if (status === 401) {
        if (this._canRenew() && this._authEpisode !== "failed" && this._authEpisode !== "resumed") {
          // The retries hls.js made while the renewal ran were not enough: renew once more, then resume.
          this._setReconnecting(true);
          this._renew("unauthorized").then(() => {
            if (this.hls !== hls) return;
            this._authEpisode = "resumed";
            this._resumeHls(hls);
          }, () => this._fail(this._unauthorizedError()));
          return;
        }
        this._fail(this._unauthorizedError());
        return;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        this._fail(playerError(codeForStatus(status), {scope: this._scope, status, detail: data.details}));
        return;
      }
      // Status 0 (unreachable), 5xx or a timeout, after hls.js's own retries.
      const started = !this._pendingLoad;
      if (started && this._networkRecoveries < NETWORK_RECOVERY_LIMIT) {
        const delay = NETWORK_RECOVERY_FIRST_MS * 2 ** this._networkRecoveries;
        this._networkRecoveries += 1;
        this._setReconnecting(true);
        this._later(() => {
          if (this.hls === hls) this._resumeHls(hls);
        }, delay);
        return;
      }
      this._fail(playerError(status >= 500 ? "server" : "network", {status, detail: data.details}));
    }

    _resumeHls(hls) {
      if (this.levels.length === 0 && hls.levels.length === 0) {
        hls.loadSource(withToken(this._mediaUrl, this.token)); // the master itself never loaded
      } else {
        hls.startLoad(this.video.currentTime || -1);
      }
    }

    _recoverMedia(hls) {
      const now = Date.now();
      this._mediaRecoveries = (this._mediaRecoveries || []).filter((at) => now - at < MEDIA_RECOVERY_WINDOW_MS);
      this._mediaRecoveries.push(now);
      if (this._mediaRecoveries.length === 1) {
        hls.recoverMediaError();
      } else if (this._mediaRecoveries.length === 2) {
        hls.swapAudioCodec();
        hls.recoverMediaError();
      } else {
        this._fail(playerError("media"));
      }
    }

    /** The URL with the current token, when it is a URL of the media origin that already names a token. */
    _rewrite(url) {
      if (!this.token || typeof url !== "string") return url;
      let origin;
      try {
        origin = new URL(url).origin;
      } catch (err) {
        return url;
      }
      return origin === this._mediaOrigin ? replaceToken(url, this.token) : url;
    }

    // -- native HLS (Safari, iOS) ---------------------------------------------------------------------------

    _loadNative(url, startTime) {
      const video = this.video;
      const wanted = withToken(url, this.token);
      this._nativeWanted = wanted;
      const onMetadata = () => {
        video.removeEventListener("loadedmetadata", onMetadata);
        if (this._nativeWanted !== wanted) return;
        if (startTime > 0 && Number.isFinite(video.duration)) video.currentTime = startTime;
        this._renderQualityMenu();
        this._loaded();
      };
      video.addEventListener("loadedmetadata", onMetadata);
      video.src = wanted;
      video.load();
    }

    /** After a renewal: the same stream with the new token, at the same position and play state. */
    _swapNativeSource() {
      const video = this.video;
      const position = video.currentTime;
      const wasPlaying = !video.paused;
      const wanted = withToken(this._mediaUrl, this.token);
      this._nativeWanted = wanted;
      const onMetadata = () => {
        video.removeEventListener("loadedmetadata", onMetadata);
        if (this._nativeWanted !== wanted) return;
        if (Number.isFinite(video.duration) && position > 0) video.currentTime = position;
        this._swapping = false;
        if (wasPlaying) video.play().catch(() => this._setState("ready"));
      };
      video.addEventListener("loadedmetadata", onMetadata);
      this._swapping = true;
      video.src = wanted;
    }

    /** A native <video> error says nothing about HTTP: ask the origin what it answers for the same URL. */
    async _onNativeError() {
      if (this.engine !== "native" || !this._nativeWanted || this._state === "error") return;
      const mediaError = this.video.error;
      const probed = this._nativeWanted;
      let response = null;
      try {
        const init = {credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer"};
        response = await fetchWithTimeout(probed, init, CONFIG_TIMEOUT_MS);
      } catch (err) {
        response = null;
      }
      if (this._nativeWanted !== probed || this._destroyed) return;
      if (!response) {
        this._fail(playerError("network"));
        return;
      }
      if (response.ok) {
        const code = mediaError && mediaError.code === 2 ? "network" : "media";
        this._fail(playerError(code, {detail: mediaError ? `MediaError ${mediaError.code}` : ""}));
        return;
      }
      const body = await readError(response);
      if (response.status === 401) {
        if (this._canRenew() && this._authEpisode !== "failed" && this._authEpisode !== "resumed") {
          this._authEpisode = "resumed";
          this._renew("unauthorized").catch(() => this._fail(this._unauthorizedError(body.code)));
          return;
        }
        this._fail(this._unauthorizedError(body.code));
        return;
      }
      const code = SERVER_CODES.has(body.code) ? body.code : codeForStatus(response.status);
      this._fail(playerError(code, {scope: this._scope, status: response.status, detail: body.description}));
    }

    // -- tokens ----------------------------------------------------------------------------------------------

    /**
     * Learn when `token` expires: `security.expiresAt` (server clock, corrected by serverTime) or else the
     * JWT's own `exp`. Stored in the browser's clock (`localMs`) and the server's (`serverSeconds`).
     */
    _initExpiry(security, token, explicitExpiresAt) {
      const claims = jwtClaims(token);
      let expiresAt = finite(explicitExpiresAt);
      if (expiresAt === null && isObject(security)) expiresAt = finite(security.expiresAt);
      if (expiresAt === null && claims) expiresAt = finite(claims.exp);
      this._notBefore = claims && finite(claims.nbf) !== null ? claims.nbf : null;
      if (expiresAt === null) {
        this._expiry = null;
        return;
      }
      const offset = this._clockOffset || 0;
      const serverNow = nowSeconds() + offset;
      const issuedAt = claims && finite(claims.iat) !== null ? claims.iat : serverNow;
      const lifetime = Math.max(0, expiresAt - Math.min(issuedAt, serverNow));
      const settings = this.config && this.config.security;
      const renewBefore = isObject(settings) ? finite(settings.renewBefore) : null;
      const lead = Math.max(MIN_RENEW_LEAD_S, Math.min(renewBefore ?? DEFAULT_RENEW_BEFORE_S, lifetime / 4));
      this._expiry = {serverSeconds: expiresAt, localMs: (expiresAt - offset) * 1000, leadMs: lead * 1000};
    }

    _canRenew() {
      const security = (this.config && this.config.security) || {};
      return typeof security.renewToken === "function"
        || (typeof security.renewUrl === "string" && security.renewUrl !== "");
    }

    _unauthorizedError(serverCode) {
      if (serverCode && AUTH_CODES.has(serverCode)) return playerError(serverCode);
      if (!this.token) return playerError("token_missing");
      const serverNow = nowSeconds() + (this._clockOffset || 0);
      if (this._notBefore !== null && serverNow < this._notBefore) return playerError("token_not_yet_valid");
      if (this._expiry && Date.now() >= this._expiry.localMs - 1000) return playerError("token_expired");
      return playerError("token_invalid");
    }

    _scheduleRenewal() {
      clearTimeout(this._renewTimer);
      this._timers.delete(this._renewTimer);
      this._renewTimer = null;
      this._renewFailures = 0;
      if (!this._expiry || !this._canRenew()) return;
      this._armRenewal(this._expiry.localMs - this._expiry.leadMs);
    }

    _armRenewal(atMs) {
      clearTimeout(this._renewTimer);
      this._timers.delete(this._renewTimer);
      this._renewAt = atMs;
      const delay = Math.max(0, atMs - Date.now());
      this._renewTimer = this._later(() => {
        if (Date.now() + 50 < this._renewAt) this._armRenewal(this._renewAt); // a chained long wait
        else this._renewOnSchedule();
      }, Math.min(delay, MAX_TIMER_MS));
    }

    /** Background tabs throttle timers: catch up when the page is shown again. */
    _checkRenewalDue() {
      if (this._renewTimer && this._renewAt && Date.now() >= this._renewAt && !this._renewing) this._renewOnSchedule();
    }

    _renewOnSchedule() {
      this._renew("schedule").catch((err) => {
        if (err && SILENT_CODES.has(err.code)) return;
        console.warn(`hlsgate-player: ${err && err.message ? err.message : "token renewal failed"}; retrying`);
        if (!this._expiry || Date.now() >= this._expiry.localMs) return; // too late: the next 401 decides
        const backoff = Math.min(RENEW_RETRY_MAX_MS, RENEW_RETRY_FIRST_MS * 2 ** this._renewFailures);
        this._renewFailures += 1;
        this._armRenewal(Math.min(Date.now() + backoff, this._expiry.localMs - MIN_RENEW_LEAD_S * 1000));
      });
    }

    /** Used by the hls.js retry hook on a 401: one renewal per episode, joined by every failing request. */
    _renewAfterUnauthorized() {
      if (this._authEpisode) return;
      this._authEpisode = "pending";
      this._setReconnecting(true);
      this._renew("unauthorized").then(() => {
        this._authEpisode = "renewed";
      }, () => {
        this._authEpisode = "failed";
      });
    }

    /** One renewal at a time; resolves with the new token once every later request will carry it. */
    _renew(reason) {
      if (this._renewing) return this._renewing;
      const generation = this._generation;
      const run = async () => {
        const fresh = await this._fetchRenewal(reason);
        if (generation !== this._generation || this._destroyed) throw this._superseded();
        this._baseToken = fresh.token;
        this.token = fresh.token;
        this._renewed = true;
        this._initExpiry(null, fresh.token, fresh.expiresAt);
        if (this.engine === "native" && this._nativeWanted) this._swapNativeSource();
        this._scheduleRenewal();
        this._flashNote("Token renewed");
        this._emit("tokenrenewed", {expiresAt: this.expiresAt, reason});
        return fresh.token;
      };
      this._renewing = run().finally(() => {
        this._renewing = null;
      });
      return this._renewing;
    }

    async _fetchRenewal(reason) {
      const security = this.config.security || {};
      const context = {token: this.token, expiresAt: this.expiresAt, reason, stream: this.stream,
        group: this._scope === "group" ? scopeOf(this.config.source).id : null};
      if (typeof security.renewToken === "function") {
        return this._renewalFrom(await security.renewToken(context), "security.renewToken");
      }
      const base = (this.config.hlsgate && this.config.hlsgate.server) || DEFAULT_SERVER;
      const url = new URL(security.renewUrl, base).href;
      let response;
      try {
        response = await fetchWithTimeout(url, {credentials: "include", cache: "no-store",
          headers: {Accept: "application/json"}}, RENEW_TIMEOUT_MS);
      } catch (err) {
        throw new Error(`token renewal: ${url.split("?")[0]} cannot be reached`);
      }
      if (!response.ok) throw new Error(`token renewal: ${url.split("?")[0]} answered ${response.status}`);
      return this._renewalFrom(await response.json(), "the renewal URL");
    }

    /** A token string, {token, expiresAt|expires_at}, or a whole player config -> {token, expiresAt}. */
    _renewalFrom(answer, where) {
      if (isToken(answer)) return {token: answer, expiresAt: null};
      if (!isObject(answer)) throw new Error(`token renewal: ${where} gave no token`);
      if (isToken(answer.token)) {
        return {token: answer.token, expiresAt: finite(answer.expiresAt) ?? finite(answer.expires_at)};
      }
      if (isObject(answer.source)) {
        const scope = scopeOf(answer.source);
        let token = isObject(scope.security) ? scope.security.jwtoken : null;
        if (!isToken(token) && Array.isArray(answer.source.entries)) {
          const entry = answer.source.entries.find((candidate) => isObject(candidate) && isObject(candidate.h5live)
            && isObject(candidate.h5live.security) && isToken(candidate.h5live.security.jwtoken));
          token = entry ? entry.h5live.security.jwtoken : null;
        }
        if (isToken(token)) {
          if (isObject(answer.security) && finite(answer.security.serverTime) !== null) {
            this._clockOffset = this._offsetFrom(answer.security);
          }
          return {token, expiresAt: isObject(answer.security) ? finite(answer.security.expiresAt) : null};
        }
      }
      throw new Error(`token renewal: ${where} gave no token`);
    }
  }

  /** A copy of one of hls.js's load policies whose errorRetry consults `hook` (hls.js's `shouldRetry`). */
  function withRetryHook(policy, hook) {
    const base = policy && policy.default ? policy.default : {};
    const errorRetry = Object.assign({maxNumRetry: 0, retryDelayMs: 1000, maxRetryDelayMs: 8000}, base.errorRetry || {},
      {shouldRetry: hook});
    return {default: Object.assign({}, base, {errorRetry})};
  }

  HlsGatePlayer.version = VERSION;
  HlsGatePlayer.defaultServer = DEFAULT_SERVER;
  HlsGatePlayer.PlayerError = PlayerError;
  HlsGatePlayer.messages = Object.freeze(Object.fromEntries(Object.entries(MESSAGES).map(([code, [message, hint]]) =>
    [code, Object.freeze({message, hint})])));
  window.HlsGatePlayer = HlsGatePlayer;
})();
