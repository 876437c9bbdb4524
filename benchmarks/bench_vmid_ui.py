"""The wizard's VMID check through the UI event: p50/p99 of the websocket round trip.

Issue 8's target: "VMID check: p50/p99 of the round trip through the UI event (aim p99 <
50 ms on this machine)". The real app (`lxc-manager serve` on its own port, 3947) and a
simulator; headless Chromium signs in, opens /containers/new, picks "Blank container" and
types VMIDs into `#wizard-vmid`, alternating a taken one (100) and free ones (97100+i), so
every check is a real change.

One sample: from the browser SENDING the websocket frame of `set_vmid` (after the 300 ms
client-side debounce, which is therefore excluded) to the browser RECEIVING the frame whose
delta carries the new `vmid_status` (free/taken). In between: `set_vmid`'s delta
("checking"), the chained `check_vmid` event sent back by the page, the server's Redis
check, and its delta. Timed twice:

- in the page: a hook on `WebSocket` (send / message) stamps `performance.now()`; the same
  clock also stamps when `#wizard-vmid`'s `data-status` changes (the answer rendered);
- in Python: Playwright's `framesent` / `framereceived` events, `time.perf_counter()`
  (adds the Chromium -> Playwright event delivery, so a little higher).

The VMID cache lives 60 s in Redis; a check that finds it expired refills it from the
simulator first: those samples are counted and also left out in a second line. Prints
figures; asserts nothing. The Redis part alone at 100 concurrent checks is
benchmarks/bench_vmid_check.py.

    .venv/bin/python benchmarks/bench_vmid_ui.py [--port 3947] [--checks 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

PORT = 3947  # not 3917 (tests), 3927 or 3937 (other benchmarks)
os.environ["LXCM_TEST_PORT"] = str(PORT)  # before anything imports tests.support.app

from browser_app import bench_app  # noqa: E402

TAKEN = "100"  # the simulator seeds guests from VMID 100 on
FREE_BASE = 97100
FINAL = ("free", "taken", "invalid", "unknown")
AIM_P99_MS = 50.0
# In a received frame the delta is JSON, possibly itself inside a JSON string (\" quotes).
FINAL_STATUS = re.compile(r'vmid_status[^"\\]*\\?"\s*:\s*\\?"(free|taken|invalid|unknown)')

HOOK_JS = r"""
(() => {
  const FINAL = /vmid_status[^"\\]*\\?"\s*:\s*\\?"(free|taken|invalid|unknown)/;
  const log = (window.__vmidLog = []);
  const Native = window.WebSocket;
  class Timed extends Native {
    constructor(...args) {
      super(...args);
      // Registered before the app's own onmessage handler: stamps the frame's arrival.
      this.addEventListener("message", (m) => {
        if (typeof m.data === "string" && FINAL.test(m.data))
          log.push(["in", performance.now(), m.data.match(FINAL)[1], m.data.length]);
      });
    }
    send(data) {
      if (typeof data === "string" && data.includes("set_vmid"))
        log.push(["out", performance.now(), data, data.length]);
      return super.send(data);
    }
  }
  window.WebSocket = Timed;
})();
"""

OBSERVE_JS = """() => {
  const box = document.querySelector('#wizard-vmid');
  new MutationObserver(() => {
    window.__vmidLog.push(['dom', performance.now(), box.getAttribute('data-status'), 0]);
  }).observe(box, {attributes: true, attributeFilter: ['data-status']});
}"""

DONE_JS = """(final) => window.__vmidLog.some(e => e[0] === 'dom' && final.includes(e[2]))"""


@dataclass
class Wire:
    """Playwright's view of the page's websocket frames, stamped in this thread."""

    sent: list[float] = field(default_factory=list)
    received: list[tuple[float, str]] = field(default_factory=list)
    sample_in: str = ""
    sample_out: str = ""

    def attach(self, page: Any) -> None:
        def on_socket(ws: Any) -> None:
            ws.on("framesent", self._sent)
            ws.on("framereceived", self._received)

        page.on("websocket", on_socket)

    def _sent(self, payload: str | bytes) -> None:
        now = time.perf_counter()
        if isinstance(payload, str) and "set_vmid" in payload:
            self.sent.append(now)
            self.sample_out = self.sample_out or payload

    def _received(self, payload: str | bytes) -> None:
        now = time.perf_counter()
        if isinstance(payload, str) and (found := FINAL_STATUS.search(payload)):
            self.received.append((now, found.group(1)))
            self.sample_in = self.sample_in or payload

    def clear(self) -> None:
        self.sent.clear()
        self.received.clear()


@dataclass
class Sample:
    page_ms: float  # in the page: set_vmid sent -> final vmid_status received
    dom_ms: float  # in the page: set_vmid sent -> data-status rendered
    wire_ms: float | None  # Playwright: framesent -> framereceived
    status: str
    refilled: bool  # the Redis cache had expired: this check refilled it from Proxmox


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {statistics.median(values):6.2f}  p95 {percentile(values, 0.95):6.2f}  "
        f"p99 {percentile(values, 0.99):6.2f}  max {max(values):7.2f} ms  (n={len(values)})"
    )


def one_check(page: Any, wire: Wire, value: str, ttl: Any) -> Sample:
    page.evaluate("() => { window.__vmidLog.length = 0 }")
    wire.clear()
    before = ttl()
    page.locator("#wizard-vmid").fill(value)
    page.wait_for_function(DONE_JS, arg=list(FINAL), timeout=15_000)
    after = ttl()
    entries = page.evaluate("() => window.__vmidLog")
    out = next(e for e in entries if e[0] == "out")
    answer = next(e for e in entries if e[0] == "in" and e[1] >= out[1])
    shown = next(e for e in entries if e[0] == "dom" and e[2] in FINAL)
    # Playwright delivers its frame events a moment later: give them that moment.
    deadline = time.monotonic() + 2
    while not (wire.sent and wire.received) and time.monotonic() < deadline:
        page.wait_for_timeout(5)
    wire_ms = None
    if wire.sent:
        got = next((t for t, _s in wire.received if t >= wire.sent[0]), None)
        wire_ms = (got - wire.sent[0]) * 1000 if got is not None else None
    return Sample(
        page_ms=answer[1] - out[1],
        dom_ms=shown[1] - out[1],
        wire_ms=wire_ms,
        status=answer[2],
        refilled=before < 0 or after > before,
    )


def redis_only(r: Any, user: str, cluster: str, rounds: int = 200) -> list[float]:
    """The server's Redis part alone: the check's Lua lookup, one round trip, sequential."""
    from lxc_manager.provisioning import vmids

    sha = r.script_load(vmids._LOOKUP)
    times = []
    for i in range(rounds):
        vmid = TAKEN if i % 2 == 0 else str(FREE_BASE + i)
        keys = [
            vmids.cache_key(user, cluster),
            vmids.hold_key(user, cluster, int(vmid)),
            vmids.names_key(user, cluster),
        ]
        began = time.perf_counter()
        r.evalsha(sha, len(keys), *keys, vmid)
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=6)
    parser.add_argument("--containers", type=int, default=60)
    args = parser.parse_args()

    with bench_app(port=args.port, containers=args.containers) as env:
        from tests.support.app import app_redis

        page = env.new_page()
        page.add_init_script(HOOK_JS)
        wire = Wire()
        wire.attach(page)
        page.goto("/containers/new")
        page.locator('#wizard[data-ready="true"]').wait_for()
        page.locator('[data-template-choice="blank"]').click()
        page.locator("#wizard-vmid").wait_for()
        node = page.locator("#wizard-node-name").inner_text().strip()
        page.evaluate(OBSERVE_JS)

        r = app_redis(env.serve)
        key: str | None = None

        def ttl() -> int:
            return int(r.pttl(key)) if key else -2

        for i in range(args.warmup):  # the page, the connections and the cache warm
            one_check(page, wire, TAKEN if i % 2 == 0 else str(FREE_BASE - 1 - i), ttl)
        key = next((k.decode() for k in r.scan_iter("vmids:*") if not k.endswith(b":names")), None)

        samples: list[Sample] = []
        failed = 0
        started = time.monotonic()
        for i in range(args.checks):
            value = TAKEN if i % 2 == 0 else str(FREE_BASE + i)
            try:
                samples.append(one_check(page, wire, value, ttl))
            except Exception as exc:  # a lost answer: counted, the run goes on
                failed += 1
                print(f"check {i} ({value}) failed: {exc!r}"[:300])
        wall = time.monotonic() - started

        statuses: dict[str, int] = {}
        for s in samples:
            statuses[s.status] = statuses.get(s.status, 0) + 1
        page_ms = [s.page_ms for s in samples]
        hits = [s.page_ms for s in samples if not s.refilled]
        dom_ms = [s.dom_ms for s in samples]
        wire_ms = [s.wire_ms for s in samples if s.wire_ms is not None]
        # per-user keys: vmids:{user}:{cluster} (the user id holds no colon)
        user, _, cluster = key.removeprefix("vmids:").partition(":") if key else ("", "", "")
        redis_ms = redis_only(r, user, cluster) if key else []

        print(
            f"wizard on node {node!r}; {len(samples)} checks in {wall:.0f} s "
            f"({failed} failed), answers {statuses}"
        )
        print(f"a set_vmid frame : {wire.sample_out[:200]}")
        print(f"an answer frame  : {wire.sample_in[:300]}")
        print("VMID check round trip through the UI event (set_vmid sent -> vmid_status received):")
        print(f"  in the page (performance.now)       : {summary(page_ms)}")
        print(f"  same, cache hits only               : {summary(hits)}")
        print(f"  via Playwright frames (perf_counter): {summary(wire_ms)}")
        print(f"  set_vmid sent -> data-status shown  : {summary(dom_ms)}")
        print(
            f"  checks that refilled the expired cache from the simulator: "
            f"{len(page_ms) - len(hits)}"
        )
        verdict = "met" if page_ms and percentile(page_ms, 0.99) < AIM_P99_MS else "NOT met"
        print(f"  aim: p99 < {AIM_P99_MS:.0f} ms on this machine -> {verdict}")
        print(f"server side alone, the Redis lookup (1 round trip): {summary(redis_ms)}")
        print("  (at 100 concurrent checks: benchmarks/bench_vmid_check.py, aim p99 < 5 ms)")
        print(
            json.dumps(
                {
                    "checks": len(samples),
                    "p50_ms": round(statistics.median(page_ms), 2) if page_ms else None,
                    "p99_ms": round(percentile(page_ms, 0.99), 2) if page_ms else None,
                    "max_ms": round(max(page_ms), 2) if page_ms else None,
                    "aim_p99_ms": AIM_P99_MS,
                }
            )
        )


if __name__ == "__main__":
    main()
