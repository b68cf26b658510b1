// Injected before the page loads: a stand-in for the Tauri IPC of the desktop
// window. It records every invoke, answers commands from a table the test
// controls, and delivers EngineEvents on the Channel given to `subscribe`
// exactly as Tauri does ({ index, message } to the channel's callback id),
// each message a batch of events as the shell sends them.
// Runs in the page; must stay self-contained.
export function installCandorMock(config) {
  const callbacks = new Map();
  let nextCallbackId = 1;
  const state = {
    calls: [],
    channel: null,
    index: 0,
    responses: config.responses || {},
    errors: config.errors || {},
    violations: [],
    /** Delivers one event, as a batch of its own. */
    push(event) {
      state.pushBatch([event]);
    },
    /** Delivers several events in one message. */
    pushBatch(events) {
      if (state.channel === null) throw new Error("the UI has not subscribed yet");
      const cb = callbacks.get(state.channel);
      if (!cb) throw new Error("the subscribe channel is gone");
      cb({ index: state.index++, message: events });
    },
  };
  window.__candor = state;
  document.addEventListener("securitypolicyviolation", (e) => {
    state.violations.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
  window.__TAURI_INTERNALS__ = {
    transformCallback(callback, once) {
      const id = nextCallbackId++;
      callbacks.set(id, (data) => {
        if (once) callbacks.delete(id);
        return callback && callback(data);
      });
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    runCallback(id, data) {
      const cb = callbacks.get(id);
      if (cb) cb(data);
    },
    callbacks,
    // The test server stands in for the shell's custom protocols (the
    // `replay` audio): same origin, so the window's CSP applies as it is.
    convertFileSrc: (p, protocol = "asset") => `/${protocol}/${encodeURIComponent(p)}`,
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    async invoke(cmd, args) {
      // Serialise as the real IPC does: a Channel becomes "__CHANNEL__:<id>".
      const wire = JSON.parse(JSON.stringify(args === undefined ? {} : args));
      state.calls.push({ cmd, args: wire });
      if (cmd === "subscribe") {
        const m = /^__CHANNEL__:(\d+)$/.exec(String(wire.onEvent));
        if (!m) throw "subscribe needs a Channel in onEvent";
        state.channel = Number(m[1]);
        if (config.initialView) setTimeout(() => state.push({ type: "view", view: config.initialView }), 0);
        return null;
      }
      if (Object.prototype.hasOwnProperty.call(state.errors, cmd)) throw state.errors[cmd];
      if (Object.prototype.hasOwnProperty.call(state.responses, cmd)) return state.responses[cmd];
      return null;
    },
  };
}
