// The container console in the page: xterm.js connected to the app's own WebSocket
// (/console/ws/...), or replaying a recording. The browser never talks to Proxmox: the
// app's backend opens the console and relays it (issue 16). Protocol: binary frames are
// terminal output; text frames are JSON status {t:"s", state, path, message}; the page
// sends {t:"i", d} input, {t:"r", c, r} resize, {t:"p"} keepalive and {t:"pause"} /
// {t:"resume"} when xterm.js falls behind (flow control, xterm.js "Flow control" guide).
import React, { useCallback, useEffect, useRef, useState } from "react";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { WebLinksAddon } from "@xterm/addon-web-links";
import "@xterm/xterm/css/xterm.css";

const HIGH_WATER = 256 * 1024;
const LOW_WATER = 32 * 1024;
const KEEPALIVE_MS = 30000;
const CLOSE_REASONS = {
  1000: "the shell exited",
  1006: "the connection to LXC Manager was lost",
  4401: "session ended",
  4403: "not allowed",
  4404: "no such container on your nodes",
  4408: "idle timeout",
  4429: "too many consoles open",
  4502: "no way into the container",
};

function cssVar(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function appTheme() {
  // The same colours as the rest of the app (Radix theme variables), light or dark.
  return {
    background: cssVar("--gray-1", "#111113"),
    foreground: cssVar("--gray-12", "#eeeef0"),
    cursor: cssVar("--accent-9", "#3e63dd"),
    cursorAccent: cssVar("--gray-1", "#111113"),
    selectionBackground: cssVar("--accent-a5", "rgba(62,99,221,0.35)"),
  };
}

function wsUrl(path, cols, rows) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const sep = path.includes("?") ? "&" : "?";
  return `${scheme}//${window.location.host}${path}${sep}cols=${cols}&rows=${rows}`;
}

export function XtermConsole({ url, replayUrl, replaySpeed, onStatus, height, ...rest }) {
  const box = useRef(null);
  const [attempt, setAttempt] = useState(0);
  const [status, setStatus] = useState({ state: "connecting", path: "", message: "Connecting…" });
  const report = useCallback(
    (next) => {
      setStatus(next);
      if (onStatus) onStatus(next.state, next.path || "", next.message || "");
    },
    [onStatus],
  );

  useEffect(() => {
    if (!box.current) return undefined;
    const term = new Terminal({
      cursorBlink: true,
      convertEol: false,
      // A concrete font stack: xterm.js measures its cell from it (a CSS variable here
      // would leave the measured row shorter than the glyphs).
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace",
      fontSize: 14,
      lineHeight: 1.15,
      scrollback: 5000,
      theme: appTheme(),
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.loadAddon(new WebLinksAddon());
    term.open(box.current);
    const refit = () => {
      try {
        fit.fit();
      } catch (e) {
        /* not laid out yet */
      }
    };
    refit();
    const resizeObserver = new ResizeObserver(refit);
    resizeObserver.observe(box.current);
    const themeObserver = new MutationObserver(() => {
      term.options.theme = appTheme();
    });
    themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ["class", "style"] });

    // Copy and paste: Ctrl+Shift+C / Ctrl+Shift+V (plain Ctrl+C is the shell's interrupt).
    term.attachCustomKeyEventHandler((event) => {
      if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
      if (event.code === "KeyC" && term.hasSelection()) {
        navigator.clipboard?.writeText(term.getSelection());
        return false;
      }
      if (event.code === "KeyV") {
        navigator.clipboard?.readText().then((text) => term.paste(text));
        return false;
      }
      return true;
    });

    let disposed = false;
    const cleanups = [];
    if (replayUrl) {
      cleanups.push(replay(term, replayUrl, replaySpeed ?? 1, report, () => disposed));
    } else if (url) {
      cleanups.push(connect(term, url, report, () => disposed));
    }
    term.focus();
    return () => {
      disposed = true;
      cleanups.forEach((clean) => clean());
      resizeObserver.disconnect();
      themeObserver.disconnect();
      term.dispose();
    };
  }, [url, replayUrl, replaySpeed, attempt]);

  const closed = status.state === "closed";
  return (
    <div {...rest} className="lxcm-console" data-state={status.state}>
      <div className="lxcm-console-bar">
        <span role="status" aria-live="polite" data-testid="console-status" className="lxcm-console-status">
          {status.message}
        </span>
        <button
          type="button"
          id="console-reconnect"
          className="lxcm-console-button"
          onClick={() => setAttempt((n) => n + 1)}
          disabled={!closed}
        >
          {replayUrl ? "Replay again" : "Reconnect"}
        </button>
      </div>
      <div ref={box} className="lxcm-console-screen" data-testid="console-screen" style={{ height: height || "28rem" }} />
    </div>
  );
}

function connect(term, path, report, isDisposed) {
  report({ state: "connecting", path: "", message: "Connecting…" });
  const socket = new WebSocket(wsUrl(path, term.cols, term.rows));
  socket.binaryType = "arraybuffer";
  const send = (message) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  let pending = 0;
  let paused = false;
  let lastState = "connecting";
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      try {
        const message = JSON.parse(event.data);
        if (message.t === "s") {
          lastState = message.state;
          report({ state: message.state, path: message.path, message: message.message });
        }
      } catch (e) {
        /* not ours */
      }
      return;
    }
    const bytes = new Uint8Array(event.data);
    pending += bytes.length;
    term.write(bytes, () => {
      pending -= bytes.length;
      if (paused && pending < LOW_WATER) {
        paused = false;
        send({ t: "resume" });
      }
    });
    if (!paused && pending > HIGH_WATER) {
      paused = true;
      send({ t: "pause" });
    }
  };
  socket.onclose = (event) => {
    if (isDisposed()) return;
    if (lastState !== "closed") {
      const why = event.reason || CLOSE_REASONS[event.code] || `connection closed (${event.code})`;
      report({ state: "closed", path: "", message: `Closed: ${why}` });
    }
  };
  const input = term.onData((data) => send({ t: "i", d: data }));
  const binary = term.onBinary((data) => send({ t: "i", d: data }));
  const resize = term.onResize(({ cols, rows }) => send({ t: "r", c: cols, r: rows }));
  const keepalive = window.setInterval(() => send({ t: "p" }), KEEPALIVE_MS);
  return () => {
    window.clearInterval(keepalive);
    input.dispose();
    binary.dispose();
    resize.dispose();
    socket.onclose = null;
    socket.close(1000);
  };
}

function replay(term, path, speed, report, isDisposed) {
  let timer = null;
  report({ state: "connecting", path: "", message: "Loading the recording…" });
  fetch(path, { credentials: "same-origin" })
    .then((answer) => {
      if (!answer.ok) throw new Error(answer.status === 404 ? "recording not found" : `error ${answer.status}`);
      return answer.json();
    })
    .then((recording) => {
      const events = (recording.events || []).filter((e) => e[1] === "o");
      report({ state: "connected", path: recording.path || "", message: speed === 0 ? "Replaying…" : `Replaying at ${speed}× speed…` });
      let index = 0;
      const started = performance.now();
      const step = () => {
        if (isDisposed()) return;
        const elapsed = ((performance.now() - started) / 1000) * speed;
        while (index < events.length && (speed === 0 || events[index][0] <= elapsed)) {
          term.write(events[index][2]);
          index += 1;
        }
        if (index >= events.length) {
          report({ state: "closed", path: recording.path || "", message: "Replay finished" });
          return;
        }
        const wait = speed === 0 ? 0 : Math.max(0, ((events[index][0] - elapsed) / speed) * 1000);
        timer = window.setTimeout(step, Math.min(wait, 1000));
      };
      step();
    })
    .catch((error) => report({ state: "closed", path: "", message: `Cannot replay: ${error.message}` }));
  return () => {
    if (timer) window.clearTimeout(timer);
  };
}
