// The player config: the host's checked (every problem is a `bad_config` naming the field), merged with the one
// the origin answered, and turned into what to play (entries, streams, the start entry, the token). Pure: the
// network is loader.js's, and the defaults that depend on the page (its URL, the default server) are arguments.

import {EngineName, ID_PATTERN, Scope} from "./defs.js";
import {Code, configError, playerError} from "./errors.js";
import {isToken} from "./jwt.js";
import {finite, isObject, overlay} from "./util.js";

export const ENGINES = Object.freeze(Object.values(EngineName));
export const PLAYBACK_DEFAULTS = Object.freeze({autoplay: true, automute: true, muted: false});
export const STYLE_DEFAULTS = Object.freeze({displayMutedAutoplay: true});

/** `value` as an absolute http(s) URL (relative to `base`); else a bad_config naming `where`. */
export function httpUrl(value, base, where) {
  if (typeof value !== "string" || value === "") throw configError(`${where} is missing`);
  let url;
  try {
    url = new URL(value, base);
  } catch {
    throw configError(`${where} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw configError(`${where} is not an http(s) URL`);
  return url.href;
}

/** `source.group` or `source.stream` -> {kind, id, security}; kind null for a config of entries alone. */
export function scopeOf(source) {
  if (isObject(source.group)) return {kind: Scope.GROUP, id: source.group.id, security: source.group.security};
  if (isObject(source.stream)) return {kind: Scope.STREAM, id: source.stream.id, security: source.stream.security};
  return {kind: null, id: null, security: null};
}

/** The scope's token, when it has one. */
export function scopeToken(scope) {
  return isObject(scope.security) && isToken(scope.security.jwtoken) ? scope.security.jwtoken : null;
}

/** What setup() is given, checked before anything is fetched. `pageUrl` resolves a relative hlsgate.server. */
export function validateHostConfig(config, pageUrl) {
  if (!isObject(config)) throw configError("setup() needs a config object");
  if (!isObject(config.source)) throw configError("source is missing");
  const source = config.source;
  if (source.group !== undefined && source.stream !== undefined) {
    throw configError("give source.group or source.stream, not both");
  }
  if (source.entries !== undefined && !Array.isArray(source.entries)) {
    throw configError("source.entries is not a list");
  }
  for (const kind of Object.values(Scope)) {
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
  if (server !== undefined) httpUrl(server, pageUrl, "hlsgate.server");
}

/** Whether setup() has to ask the origin for the config (a group or stream without entries). */
export const needsFetch = (host) => !Array.isArray(host.source.entries);

/**
 * The effective config: the host's over the fetched one (`null` when the host gave entries). The host's
 * playback, style and security (functions included) win over the origin's, and those over the defaults.
 */
export function mergeConfig(host, fetched, defaultServer) {
  const base = fetched || {};
  const config = Object.assign({}, base, host);
  config.source = fetched ? fetched.source : host.source;
  if (!isObject(config.source) || !Array.isArray(config.source.entries)) {
    throw playerError(Code.SERVER, {detail: "the player config has no source.entries"});
  }
  config.playback = overlay(overlay(PLAYBACK_DEFAULTS, base.playback), host.playback);
  config.style = overlay(overlay(STYLE_DEFAULTS, base.style), host.style);
  config.security = overlay(base.security, host.security);
  config.hlsgate = overlay({server: defaultServer}, host.hlsgate);
  return config;
}

/** The security block whose `serverTime` dates the config: the origin's when it answered one. */
export function clockSecurity(fetched, config) {
  return fetched && isObject(fetched.security) ? fetched.security : config.security;
}

/** Entries -> [{index, position, label, stream, info, url, token}] (info.bitrate in kbps, as given). */
export function normaliseEntries(raw, base) {
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

/** Streams -> [{id, master, entries: [entry], live}]; without `source.streams`, entries are grouped by `stream`. */
export function normaliseStreams(source, entries, base) {
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
      // live: true | false from the origin (a room lists its live participants), null when it does not say
      return {id: stream.id, master, entries: members, live: typeof stream.live === "boolean" ? stream.live : null};
    });
  }
  const fallbackId = scopeOf(source).id || "stream";
  const groups = new Map();
  for (const entry of entries) {
    const id = entry.stream || fallbackId;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id).push(entry);
  }
  return [...groups].map(([id, members]) => ({id, master: null, entries: members, live: null}));
}

/**
 * What the effective config plays: {scope, entries, streams, startEntry, startStream, baseToken}. A group
 * without entries is `empty`, a stream without them `not_found`; anything malformed is a `bad_config`.
 */
export function planPlayback(config, defaultServer) {
  const source = config.source;
  const scope = scopeOf(source);
  if (source.entries.length === 0) {
    if (scope.kind === Scope.GROUP) throw playerError(Code.EMPTY);
    if (scope.kind === Scope.STREAM) {
      // The origin lists a stream with nothing published yet as `live: null` (a live stream whose encoder has
      // not started): "not live yet", checked again; a stream it says is not live is simply not there.
      const listed = (source.streams || []).find((stream) => stream && stream.id === scope.id);
      throw playerError(listed && listed.live !== false ? Code.NOT_LIVE : Code.NOT_FOUND);
    }
    throw configError("source.entries is empty");
  }
  const base = (config.hlsgate && config.hlsgate.server) || defaultServer;
  const entries = normaliseEntries(source.entries, base);
  const streams = normaliseStreams(source, entries, base);
  const startIndex = source.startIndex === undefined ? 0 : source.startIndex;
  if (!Number.isInteger(startIndex) || startIndex < 0 || startIndex >= entries.length) {
    throw configError("source.startIndex is not the position of an entry");
  }
  const startEntry = entries[startIndex];
  const baseToken = scopeToken(scope) || startEntry.token || (entries.find((entry) => entry.token) || {}).token
    || null;
  const startStream = streams.find((candidate) => candidate.entries.includes(startEntry)) || streams[0];
  return {scope, entries, streams, startEntry: startStream.entries.includes(startEntry) ? startEntry : null,
    startStream, baseToken};
}
