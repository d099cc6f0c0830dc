// The token in media URLs: added to the URL the player loads, and swapped in every later request, so that
// requests made after a renewal carry the new token. Pure functions over URL strings.

import {TOKEN_PARAM} from "./defs.js";

/** The URL with `token=T` set (percent-encoded by URLSearchParams); unchanged without a token. */
export function withToken(url, token) {
  if (!token) return url;
  const parsed = new URL(url);
  parsed.searchParams.set(TOKEN_PARAM, token);
  return parsed.href;
}

/**
 * The URL with the value of its existing `token` query parameter replaced; other parameters are kept byte for
 * byte (no re-serialisation). A URL without a token parameter is returned as it is.
 */
export function replaceToken(url, token) {
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
    } catch {
      // a malformed escape: not our parameter
    }
    if (decoded !== TOKEN_PARAM) return pair;
    found = true;
    return `${TOKEN_PARAM}=${encodeURIComponent(token)}`;
  });
  return found ? `${head.slice(0, queryAt + 1)}${pairs.join("&")}${fragment}` : url;
}

/**
 * What a request for `url` should ask for: with the current `token` when it is a URL of the media `origin`
 * that already names a token; any other URL (another host, no token parameter, not a URL) is left alone.
 */
export function swapToken(url, token, origin) {
  if (!token || typeof url !== "string") return url;
  let urlOrigin;
  try {
    urlOrigin = new URL(url).origin;
  } catch {
    return url;
  }
  return urlOrigin === origin ? replaceToken(url, token) : url;
}
