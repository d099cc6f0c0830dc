// Time, injected: every part that waits takes a clock, so that tests drive it without real time passing.

export const systemClock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
});

/** The timeouts one part has pending, so that it can cancel them all when it stops. */
export class Timers {
  constructor(clock = systemClock) {
    this.clock = clock;
    this._pending = new Set();
  }

  later(fn, ms) {
    const id = this.clock.setTimeout(() => {
      this._pending.delete(id);
      fn();
    }, ms);
    this._pending.add(id);
    return id;
  }

  cancel(id) {
    if (id == null) return;
    this.clock.clearTimeout(id);
    this._pending.delete(id);
  }

  clear() {
    for (const id of this._pending) this.clock.clearTimeout(id);
    this._pending.clear();
  }
}
