// The streams a config offers (a group, or a conference room's live participants), as the picker lists them.
// Pure: the UI renders what `streamChoices` answers, the player switches with `setStream(id)`.

/** The picker's label of one stream: its id, and "(live)" when the origin says it is live now. */
export function streamLabel(stream) {
  return stream.live === true ? `${stream.id} (live)` : stream.id;
}

/**
 * `streams` ([{id, live}], as config.js normalises them) -> [{id, label, live, current}] in the config's order.
 * `live` is true or false when the origin says (a room's player-config), null when it does not.
 */
export function streamChoices(streams, currentId) {
  return (streams || []).map((stream) => ({id: stream.id, label: streamLabel(stream),
    live: typeof stream.live === "boolean" ? stream.live : null, current: stream.id === currentId}));
}

/** Whether the picker is worth showing: two streams or more. */
export const offersChoice = (choices) => choices.length > 1;
