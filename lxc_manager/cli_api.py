"""`lxcm`: a small command-line client of LXC Manager's HTTP API (/api/v1).

It needs only httpx and the standard library (none of the app's settings, database or
Redis), so it runs anywhere the API is reachable: `lxcm ...` once installed, or
`python -m lxc_manager.cli_api ...` from a checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

import httpx

# Exit codes a script can rely on.
OK, FAILED, USAGE, AUTH, NOT_FOUND, UNREACHABLE = 0, 1, 2, 3, 4, 5

EXIT_CODES = f"""exit codes:
  {OK}  done (with --wait: the container was created, the backup made)
  {FAILED}  the API refused or failed the operation (conflict, a privilege the node's token
     lacks, server error, rate limit), or the job failed (with --wait)
  {USAGE}  usage error: bad arguments, or the server refused the input (422; the field is named)
  {AUTH}  no API key, or the key is unknown, revoked or expired (401/403)
  {NOT_FOUND}  not found: no such container, template, job or operation (another user's is
     not found either)
  {UNREACHABLE}  the server could not be reached

environment:
  LXCM_URL      the server (default http://127.0.0.1:3000)
  LXCM_API_KEY  the API key (Settings -> API keys). Prefer it, or --api-key-file, to
                --api-key: a key on the command line is visible to other users in ps.
"""

DEFAULT_URL = "http://127.0.0.1:3000"
API = "/api/v1"
SSE_RETRIES = 5
PER_PAGE = 500


class CliError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Api:
    """The API client: base URL, key, TLS verification."""

    url: str
    key: str
    verify: bool | str
    timeout: float

    def client(self, timeout: httpx.Timeout | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url.rstrip("/") + API,
            headers={"Authorization": f"Bearer {self.key}", "Accept": "application/json"},
            verify=self.verify,
            timeout=timeout or httpx.Timeout(self.timeout),
            follow_redirects=False,
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            with self.client() as client:
                response = client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise CliError(UNREACHABLE, f"cannot reach {self.url}: {exc}") from None
        return answer(response)


def _error_of(response: httpx.Response) -> tuple[str, str | None]:
    try:
        error = response.json().get("error", {})
        return str(error.get("message") or response.reason_phrase), error.get("field")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code} {response.reason_phrase}", None


def answer(response: httpx.Response) -> Any:
    """The JSON of a successful answer; a CliError with the right exit code otherwise."""
    if response.is_success:
        return response.json() if response.content else None
    message, field = _error_of(response)
    if field:
        message = f"{field}: {message}"
    status = response.status_code
    code = {401: AUTH, 403: AUTH, 404: NOT_FOUND, 422: USAGE}.get(status, FAILED)
    if status == 429:
        message += f" (retry after {response.headers.get('retry-after', '?')} s)"
    raise CliError(code, message)


# -- output -----------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]], out: TextIO) -> None:
    """`rows` as aligned columns (heading, key); "-" for missing values."""
    cells = [
        [str(row.get(key, "")) if row.get(key) not in (None, "") else "-" for _, key in columns]
        for row in rows
    ]
    widths = [
        max([len(heading), *(len(line[i]) for line in cells)])
        for i, (heading, _) in enumerate(columns)
    ]
    print(
        "  ".join(h.ljust(w) for (h, _), w in zip(columns, widths, strict=True)).rstrip(), file=out
    )
    for line in cells:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip(), file=out)


def _items(data: Any, key: str) -> list[dict[str, Any]]:
    items = data.get(key, []) if isinstance(data, dict) else data
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def show(data: Any, args: argparse.Namespace, key: str, columns: Sequence[tuple[str, str]]) -> None:
    if args.json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        table(_items(data, key), columns, sys.stdout)


def progress_line(event: str, data: dict[str, Any]) -> str | None:
    """One line of `create --wait` / `jobs follow` for an event of the stream."""
    if event == "line":
        return f"  {data.get('text', '')}"
    if event == "step":
        total = f"/{data['total']}" if data.get("total") else ""
        script = f" {data['script']}" if data.get("script") else ""
        extra = f": {data['message']}" if data.get("message") else ""
        index = f" ({data['index']}{total}{script})" if data.get("index") else ""
        return f"[step {data.get('step', '?')}] {data.get('name', '')}{index} {data.get('state', '')}{extra}"
    if event == "status":
        message = f": {data['message']}" if data.get("message") else ""
        return f"status: {data.get('status', '')}{message}"
    if event == "result":
        parts = [f"result: {data.get('outcome', '')}", f"CT {data.get('vmid', '?')}"]
        if data.get("ip"):
            parts.append(f"IP {data['ip']}")
        if data.get("error"):
            parts.append(str(data["error"]))
        return ", ".join(parts)
    return None


# -- Server-Sent Events -------------------------------------------------------------------------------


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    """(event, data, id) of each event in a text/event-stream; comments are skipped."""
    event, event_id = "message", ""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data), event_id
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


def follow(
    api: Api, job_id: str, out: TextIO, *, jobs: str = "creations", end_key: str = "job"
) -> dict[str, Any]:
    """Print the job's progress until it ends; its final state (the `end` event's
    `end_key`). `jobs` is "creations" or "operations". Resumes after a dropped connection
    (Last-Event-ID)."""
    last_id, failures = "", 0
    timeout = httpx.Timeout(api.timeout, read=max(60.0, api.timeout))  # heartbeats every 15 s
    while True:
        headers = {"Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        try:
            with (
                api.client(timeout) as client,
                client.stream("GET", f"/{jobs}/{job_id}/events", headers=headers) as resp,
            ):
                if not resp.is_success:
                    resp.read()
                    answer(resp)
                for event, data, event_id in sse_events(resp.iter_lines()):
                    failures = 0
                    last_id = event_id or last_id
                    payload = json.loads(data)
                    if event == "end":
                        return dict(payload.get(end_key) or {})
                    line = progress_line(event, payload)
                    if line is not None:
                        print(line, file=out, flush=True)
            problem = "the server closed it before the job ended"
        except (httpx.HTTPError, ValueError) as exc:
            problem = str(exc) or type(exc).__name__
        failures += 1
        if failures > SSE_RETRIES:
            raise CliError(UNREACHABLE, f"lost the progress stream: {problem}")
        time.sleep(min(2.0 * failures, 10.0))


# -- commands ---------------------------------------------------------------------------------------

CONTAINER_COLUMNS = (
    ("NODE", "node_id"),
    ("PVE NODE", "pve_node"),
    ("VMID", "vmid"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("IP", "ip"),
)
TEMPLATE_COLUMNS = (("ID", "id"), ("NAME", "name"), ("OS", "os_template"), ("TAGS", "tags"))
NODE_COLUMNS = (("ID", "id"), ("NAME", "name"), ("HOST", "host"), ("DEFAULT", "is_default"))
JOB_COLUMNS = (
    ("ID", "id"),
    ("STATUS", "status"),
    ("STEP", "step_name"),
    ("VMID", "vmid"),
    ("HOSTNAME", "hostname"),
    ("ERROR", "error"),
)


def cmd_nodes_list(api: Api, args: argparse.Namespace) -> int:
    show(api.call("GET", "/nodes"), args, "nodes", NODE_COLUMNS)
    return OK


def cmd_containers_list(api: Api, args: argparse.Namespace) -> int:
    """Every page of the listing (the API pages it; a script wants all of it)."""
    filters = {"node": args.node, "status": args.status, "tag": args.tag, "search": args.search}
    query: dict[str, Any] = {k: v for k, v in filters.items() if v}
    found: list[dict[str, Any]] = []
    problems: list[Any] = []
    for page in range(1000):
        params = httpx.QueryParams({**query, "per_page": PER_PAGE, "page": page})
        data = api.call("GET", f"/containers?{params}")
        found += _items(data, "containers")
        problems = data.get("problems", []) if isinstance(data, dict) else []
        shown = len(_items(data, "containers"))
        if not shown or len(found) >= int(data.get("matching", 0)):
            break
    show({"containers": found, "problems": problems}, args, "containers", CONTAINER_COLUMNS)
    for problem in problems if not args.json else []:
        print(f"lxcm: {problem.get('node_name')}: {problem.get('message')}", file=sys.stderr)
    return OK


def cmd_container_action(api: Api, args: argparse.Namespace) -> int:
    data = api.call("POST", f"/containers/{args.node}/{args.vmid}/status/{args.action}")
    if args.json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        print(f"{args.action}: CT {args.vmid} done")
    return OK


def cmd_templates_list(api: Api, args: argparse.Namespace) -> int:
    show(api.call("GET", "/templates"), args, "templates", TEMPLATE_COLUMNS)
    return OK


def _template_id(api: Api, wanted: str) -> int:
    """A template by id or by name (exactly one of the user's usable templates)."""
    if wanted.isdigit():
        return int(wanted)
    listed = _items(api.call("GET", "/templates"), "templates")
    found = [t for t in listed if t.get("name") == wanted or t.get("slug") == wanted]
    if len(found) != 1:
        why = "no template is" if not found else f"{len(found)} templates are"
        raise CliError(NOT_FOUND if not found else USAGE, f"{why} named {wanted!r}")
    return int(found[0]["id"])


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise CliError(USAGE, f"cannot read {path}: {exc.strerror}") from None


def creation_body(api: Api, args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"hostname": args.hostname}
    if args.template:
        body["template_id"] = _template_id(api, args.template)
    simple = {
        "vmid": args.vmid,
        "node_id": args.node,
        "pve_node": args.pve_node,
        "os_template": args.os_template,
        "storage": args.storage,
        "bridge": args.bridge,
        "cores": args.cores,
        "memory_mb": args.memory,
        "swap_mb": args.swap,
        "disk_gb": args.disk,
        "ipv4": args.ip,
        "gateway": args.gateway,
        "nameserver": args.nameserver,
        "tags": args.tags,
    }
    body.update({k: v for k, v in simple.items() if v is not None})
    if args.ssh_key_file:
        body["ssh_public_keys"] = "\n".join(_read_text(p) for p in args.ssh_key_file)
    if args.onboot:
        body["onboot"] = True
    return body


def cmd_create(api: Api, args: argparse.Namespace) -> int:
    data = api.call("POST", "/creations", creation_body(api, args))
    job = data.get("job", {}) if isinstance(data, dict) else {}
    job_id = str(job.get("id", ""))
    print(f"job {job_id}: creating CT {job.get('vmid')} ({job.get('hostname')})", file=sys.stderr)
    if not args.wait:
        if args.json:
            json.dump(data, sys.stdout, indent=2, sort_keys=True)
            print()
        else:
            print(job_id)
        return OK
    return finish(api, job_id, args)


def finish(
    api: Api, job_id: str, args: argparse.Namespace, jobs: str = "creations", end_key: str = "job"
) -> int:
    """Follow the job to its end (progress on stdout, or stderr with --json); OK when it
    succeeded."""
    out = sys.stderr if args.json else sys.stdout
    final = follow(api, job_id, out, jobs=jobs, end_key=end_key)
    if args.json:
        json.dump(final, sys.stdout, indent=2, sort_keys=True)
        print()
    status = final.get("status")
    if status != "succeeded":
        print(f"job {job_id} {status}: {final.get('error', '')}", file=sys.stderr)
        return FAILED
    return OK


def cmd_jobs_list(api: Api, args: argparse.Namespace) -> int:
    show(api.call("GET", "/creations"), args, "jobs", JOB_COLUMNS)
    return OK


def cmd_jobs_get(api: Api, args: argparse.Namespace) -> int:
    data = api.call("GET", f"/creations/{args.id}")
    if args.json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True)
        print()
        return OK
    job = data.get("job", {})
    for key in (
        "id",
        "status",
        "step",
        "step_name",
        "percent",
        "vmid",
        "hostname",
        "node_name",
        "pve_node",
        "template_name",
        "error",
        "attempts",
        "created_at",
        "finished_at",
    ):
        if job.get(key) not in (None, ""):
            print(f"{key}: {job[key]}")
    return OK


def cmd_jobs_follow(api: Api, args: argparse.Namespace) -> int:
    return finish(api, args.id, args)


def cmd_jobs_action(api: Api, args: argparse.Namespace) -> int:
    data = api.call("POST", f"/creations/{args.id}/{args.action}")
    job = data.get("job", {}) if isinstance(data, dict) else {}
    print(f"job {args.id}: {args.action} done (status {job.get('status', '?')})")
    if args.action == "retry" and args.wait:
        return finish(api, args.id, args)
    return OK


# -- arguments --------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise CliError(USAGE, message)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")


def _add(sub: Any, name: str, run: Callable[[Api, argparse.Namespace], int], text: str) -> Any:
    parser = sub.add_parser(name, help=text, description=text)
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lxcm",
        description="LXC Manager from the command line, over its HTTP API (/api/v1).",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="the server, e.g. https://lxcm.example.org (env LXCM_URL)")
    parser.add_argument("--api-key-file", help="read the API key from this file")
    parser.add_argument(
        "--api-key", help="the API key (visible in ps: prefer LXCM_API_KEY or --api-key-file)"
    )
    parser.add_argument("--ca-cert", help="verify the server's TLS certificate with this CA bundle")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (30)")
    groups = parser.add_subparsers(dest="group", required=True, parser_class=_Parser)

    nodes = groups.add_parser("nodes", help="your Proxmox nodes").add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    _json_flag(_add(nodes, "list", cmd_nodes_list, "list your nodes"))

    containers = groups.add_parser("containers", help="containers").add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    listing = _add(containers, "list", cmd_containers_list, "list your containers")
    listing.add_argument("--node", help="only this node's containers (a node name)")
    listing.add_argument("--status", help="only containers with this status (running, stopped)")
    listing.add_argument("--tag", help="only containers with this tag")
    listing.add_argument("--search", help="only containers whose name, VMID, IP or tag matches")
    _json_flag(listing)
    for action in ("start", "stop", "shutdown", "reboot"):
        act = _add(containers, action, cmd_container_action, f"{action} a container")
        act.add_argument("node", type=int, help="the node's id (lxcm nodes list)")
        act.add_argument("vmid", type=int)
        act.set_defaults(action=action)
        _json_flag(act)

    tpl = groups.add_parser("templates", help="container templates").add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    _json_flag(_add(tpl, "list", cmd_templates_list, "list the templates you may use"))

    create = _add(groups, "create", cmd_create, "create a container (a provisioning job)")
    create.add_argument("--template", help="template id or name (default: a blank container)")
    create.add_argument("--hostname", required=True)
    create.add_argument("--vmid", type=int, help="default: the cluster's next free VMID")
    create.add_argument("--node", type=int, help="node id (default: your default node)")
    create.add_argument("--pve-node", help="Proxmox node of the cluster (default: the first)")
    create.add_argument("--os-template", help="e.g. local:vztmpl/debian-12-standard_...")
    create.add_argument("--storage", help="root disk storage (default: the template's)")
    create.add_argument("--bridge")
    create.add_argument("--cores", type=int)
    create.add_argument("--memory", type=int, help="MB")
    create.add_argument("--swap", type=int, help="MB")
    create.add_argument("--disk", type=int, help="GB")
    create.add_argument("--ip", help="dhcp (default) or an address such as 10.0.0.5/24")
    create.add_argument("--gateway")
    create.add_argument("--nameserver")
    create.add_argument("--tags", help="comma separated")
    create.add_argument("--ssh-key-file", action="append", help="a public key file (repeatable)")
    create.add_argument("--onboot", action="store_true", help="start at boot")
    create.add_argument("--wait", action="store_true", help="print progress until it ends")
    _json_flag(create)

    jobs = groups.add_parser("jobs", help="creation jobs").add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    _json_flag(_add(jobs, "list", cmd_jobs_list, "list your creation jobs"))
    get = _add(jobs, "get", cmd_jobs_get, "show a job")
    get.add_argument("id")
    _json_flag(get)
    fol = _add(jobs, "follow", cmd_jobs_follow, "print a job's progress until it ends")
    fol.add_argument("id")
    _json_flag(fol)
    for action in ("retry", "destroy", "keep"):
        text = {
            "retry": "run a failed job again from its failed step",
            "destroy": "delete a failed job's half-built container",
            "keep": "keep a failed job's container for debugging",
        }[action]
        act = _add(jobs, action, cmd_jobs_action, text)
        act.add_argument("id")
        act.set_defaults(action=action, wait=False)
        if action == "retry":
            act.add_argument("--wait", action="store_true", help="print progress until it ends")
        _json_flag(act)
    from lxc_manager import cli_api_backups  # it uses this module's helpers

    cli_api_backups.add_commands(groups, _add, _json_flag)
    return parser


def _key(args: argparse.Namespace) -> str:
    if args.api_key_file:
        key = _read_text(args.api_key_file).strip()
    else:
        key = args.api_key or os.environ.get("LXCM_API_KEY", "")
    if not key:
        raise CliError(AUTH, "no API key: set LXCM_API_KEY (or --api-key-file)")
    return key


def run(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        url = args.url or os.environ.get("LXCM_URL") or DEFAULT_URL
        if not url.startswith(("http://", "https://")):
            raise CliError(USAGE, f"--url must start with http:// or https:// (not {url!r})")
        api = Api(url, _key(args), args.ca_cert or True, args.timeout)
        code: int = args.run(api, args)
        return code
    except CliError as exc:
        print(f"lxcm: {exc.message}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
