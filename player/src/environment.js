// Where this script was loaded from, read while it runs (document.currentScript is only set then): its origin
// is the default hlsgate server, so a page on another origin that includes the script from the origin talks
// to that origin, and the widget's stylesheet is the one beside it. The only module that reads the page's URL.

const script = typeof document !== "undefined" ? document.currentScript : null;
const scriptUrl = (script && script.src) || "";

export const STYLESHEET = "hlsgate-player.css";
export const DEFAULT_SERVER = scriptUrl ? new URL(scriptUrl).origin
  : typeof window !== "undefined" ? window.location.origin : "";
export const STYLESHEET_URL = scriptUrl ? new URL(STYLESHEET, scriptUrl).href : "";

/** The page's own URL, which a relative `hlsgate.server` is resolved against. */
export const pageUrl = () => window.location.href;
