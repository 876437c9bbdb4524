"""`lxcm`'s pure parts: the event-stream parser, progress lines, the exit code of each
answer, usage errors; and the wizard's prefill helpers the API shares (`form`)."""

from __future__ import annotations

import httpx
import pytest

from lxc_manager import cli_api
from lxc_manager.provisioning.form import offered_or_first, template_fields
from lxc_manager.templates.spec import Resources, TemplateSpec


def test_sse_events_parse_ids_events_multiline_data_and_skip_comments() -> None:
    text = [
        "retry: 3000",
        "",
        ": keep-alive",
        "",
        "id: 1-0",
        "event: status",
        'data: {"status":"queued"}',
        "",
        "event: line",
        "data: first",
        "data: second",
        "",
        "id: 2-0",
        "data:no-space",
        "",
    ]
    assert list(cli_api.sse_events(iter(text))) == [
        ("status", '{"status":"queued"}', "1-0"),
        ("line", "first\nsecond", "1-0"),
        ("message", "no-space", "2-0"),
    ]


def test_progress_lines() -> None:
    line = cli_api.progress_line
    assert line("line", {"text": "Setting up nginx"}) == "  Setting up nginx"
    assert line("step", {"step": "6", "name": "Run scripts", "state": "running", "index": "1",
                         "total": "2", "script": "web"}) == "[step 6] Run scripts (1/2 web) running"  # fmt: skip
    assert line("status", {"status": "failed", "message": "boom"}) == "status: failed: boom"
    assert line("result", {"outcome": "succeeded", "vmid": "105", "ip": "10.0.0.5"}) == (
        "result: succeeded, CT 105, IP 10.0.0.5"
    )
    assert line("whatever", {}) is None


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, cli_api.AUTH), (403, cli_api.AUTH), (404, cli_api.NOT_FOUND), (422, cli_api.USAGE),
     (409, cli_api.FAILED), (429, cli_api.FAILED), (500, cli_api.FAILED), (502, cli_api.FAILED)],
)  # fmt: skip
def test_each_error_answer_has_its_exit_code(status: int, code: int) -> None:
    body = {
        "error": {"code": "x", "message": "nope", "field": "hostname" if status == 422 else None}
    }
    response = httpx.Response(status, json=body, headers={"Retry-After": "7"})
    with pytest.raises(cli_api.CliError) as raised:
        cli_api.answer(response)
    assert raised.value.code == code
    assert raised.value.message.startswith("hostname: nope" if status == 422 else "nope")
    assert cli_api.answer(httpx.Response(200, json={"ok": True})) == {"ok": True}


def test_usage_errors_and_a_missing_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LXCM_API_KEY", raising=False)
    assert cli_api.run(["containers", "start", "1"]) == cli_api.USAGE
    assert cli_api.run(["--url", "ftp://host", "containers", "list"]) == cli_api.USAGE
    assert cli_api.run(["containers", "list"]) == cli_api.AUTH
    assert "LXCM_API_KEY" in capsys.readouterr().err


def test_the_wizard_prefill_helpers() -> None:
    spec = TemplateSpec(
        name="t", tags=("a", "b"), resources=Resources(3, 2048, 0, 9), storage="zfs"
    )
    assert template_fields(spec) == {
        "cores": "3", "memory_mb": "2048", "swap_mb": "0", "disk_gb": "9",
        "tags": "a, b", "storage": "zfs", "bridge": "vmbr0",
    }  # fmt: skip
    offered = ["local:vztmpl/alpine-3.20.tar.xz", "local:vztmpl/debian-12-standard.tar.zst"]
    assert offered_or_first("x", offered, "debian-12") == offered[1]
    assert offered_or_first(offered[0], offered, "debian-12") == offered[0]
    assert offered_or_first("x", offered) == offered[0]
    assert offered_or_first("x", [], "debian") == ""
