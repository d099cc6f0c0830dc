// Which engine plays, and making one.

import {EngineName, HLS_MIME} from "../defs.js";
import {Code, playerError} from "../errors.js";
import {HlsJsEngine} from "./hlsjs.js";
import {NativeEngine} from "./native.js";

const ENGINES = {[EngineName.HLSJS]: HlsJsEngine, [EngineName.NATIVE]: NativeEngine};

/**
 * `wanted` ("auto" | "hlsjs" | "native") -> the engine this browser plays with: hls.js when `Hls.isSupported()`,
 * else the browser's own HLS when `video.canPlayType` knows it; else `unsupported`.
 */
export function chooseEngine(wanted, {Hls, video}) {
  const hlsOk = typeof Hls === "function" && typeof Hls.isSupported === "function" && Hls.isSupported();
  const nativeOk = Boolean(video.canPlayType(HLS_MIME));
  if (wanted === EngineName.HLSJS) {
    if (!hlsOk) throw playerError(Code.UNSUPPORTED, {detail: "hls.js is not loaded or MSE is missing"});
    return EngineName.HLSJS;
  }
  if (wanted === EngineName.NATIVE) {
    if (!nativeOk) throw playerError(Code.UNSUPPORTED, {detail: "this browser has no HLS of its own"});
    return EngineName.NATIVE;
  }
  if (hlsOk) return EngineName.HLSJS;
  if (nativeOk) return EngineName.NATIVE;
  throw playerError(Code.UNSUPPORTED);
}

export function createEngine(name, ctx) {
  return new ENGINES[name](ctx);
}
