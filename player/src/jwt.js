// What the player reads of a token: whether it looks like one, and its claims (unverified, for exp/iat/nbf).

import {isObject} from "./util.js";

export const MAX_TOKEN_LENGTH = 16384;

export function isToken(value) {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_TOKEN_LENGTH && !/\s/.test(value);
}

/** The claims of a JWT (base64url JSON between the dots), never verified: only used to learn exp/iat/nbf. */
export function jwtClaims(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(parts[1].length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return isObject(claims) ? claims : null;
  } catch {
    return null;
  }
}
