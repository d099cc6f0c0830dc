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
 *
 * The bundle's entry point (build.mjs makes dist/hlsgate-player.js of it): defines window.HlsGatePlayer.
 */

import {VERSION} from "./defs.js";
import {DEFAULT_SERVER} from "./environment.js";
import {PlayerError, messages} from "./errors.js";
import {HlsGatePlayer} from "./player.js";

HlsGatePlayer.version = VERSION;
HlsGatePlayer.defaultServer = DEFAULT_SERVER;
HlsGatePlayer.PlayerError = PlayerError;
HlsGatePlayer.messages = messages;
window.HlsGatePlayer = HlsGatePlayer;
