// The player's own requests to the origin and to the host's backend (hls.js loads the media itself): the
// config, the probe that learns why the browser's own HLS failed, and a renewal URL. `fetch` is injected.

import {CONFIG_PATH} from "./defs.js";
import {Code, errorForAnswer, playerError} from "./errors.js";
import {scopeOf, scopeToken} from "./config.js";
import {isObject} from "./util.js";

export const CONFIG_TIMEOUT_MS = 15000;
export const RENEW_TIMEOUT_MS = 15000;

/** The browser's fetch, called as a plain function (window.fetch refuses another `this`). */
export const browserFetch = (url, init) => fetch(url, init);

export function fetchWithTimeout(fetchFn, url, init, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  return fetchFn(url, Object.assign({}, init, {signal: controller.signal})).finally(() => clearTimeout(timer));
}

/** An error answer's `{code, description}` (the origin's JSON body), or empty strings when it has none. */
export async function readError(response) {
  try {
    const body = await response.json();
    if (isObject(body) && typeof body.error === "string") {
      const description = typeof body.error_description === "string" ? body.error_description : "";
      return {code: body.error, description};
    }
  } catch {
    // not JSON: the status decides
  }
  return {code: "", description: ""};
}

/** `GET {server}/api/v1/player-config?group=ID` with the token in the Authorization header (never the URL). */
export async function fetchPlayerConfig(host, {fetchFn = browserFetch, defaultServer}) {
  const scope = scopeOf(host.source);
  const server = (host.hlsgate && host.hlsgate.server) || defaultServer;
  const url = new URL(CONFIG_PATH, server);
  url.searchParams.set(scope.kind, scope.id);
  const token = scopeToken(scope);
  const headers = {Accept: "application/json"};
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetchWithTimeout(fetchFn, url.href, {headers, credentials: "omit", cache: "no-store",
      referrerPolicy: "no-referrer"}, CONFIG_TIMEOUT_MS);
  } catch (err) {
    throw playerError(Code.NETWORK, {detail: `${url.origin}${CONFIG_PATH}: ${err && err.name}`});
  }
  if (!response.ok) {
    const body = await readError(response);
    throw errorForAnswer({status: response.status, ...body}, scope.kind);
  }
  let config;
  try {
    config = await response.json();
  } catch {
    throw playerError(Code.SERVER, {detail: "the player config is not JSON"});
  }
  if (!isObject(config)) throw playerError(Code.SERVER, {detail: "the player config is not an object"});
  return config;
}

/**
 * What the origin answers for `url` (a native <video> error says nothing about HTTP): `{ok, status, code,
 * description}`, or null when it cannot be reached.
 */
export async function probe(url, {fetchFn = browserFetch} = {}) {
  let response;
  try {
    const init = {credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer"};
    response = await fetchWithTimeout(fetchFn, url, init, CONFIG_TIMEOUT_MS);
  } catch {
    return null;
  }
  if (response.ok) return {ok: true, status: response.status, code: "", description: ""};
  return {ok: false, status: response.status, ...(await readError(response))};
}

/** `GET renewUrl` with the page's cookies: the JSON answer. Errors name the URL without its query. */
export async function fetchRenewal(url, {fetchFn = browserFetch} = {}) {
  const shown = url.split("?")[0];
  let response;
  try {
    response = await fetchWithTimeout(fetchFn, url, {credentials: "include", cache: "no-store",
      headers: {Accept: "application/json"}}, RENEW_TIMEOUT_MS);
  } catch {
    throw new Error(`token renewal: ${shown} cannot be reached`);
  }
  if (!response.ok) throw new Error(`token renewal: ${shown} answered ${response.status}`);
  return response.json();
}
