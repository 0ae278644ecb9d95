"""Pure parsing for the CLI: sizes, times, KEY=VAL flags, YAML job files and flag precedence.

Also the small pure pieces around it: choice enums mirroring the wire Literals, exit-code
mapping, display formats, the client's config file, and the SDK's wire handling against
``httpx.MockTransport`` (no network).
"""

from __future__ import annotations

import enum
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import httpx
import pytest

from petaport.cli.choices import CentreRoleChoice, ScopeChoice
from petaport.cli.output import fmt_duration, fmt_mem, fmt_time, local_zone
from petaport.cli.parsing import (
    SubmitFlags,
    UsageProblem,
    build_job,
    default_name,
    load_job_file,
    parse_mem,
    parse_pairs,
    parse_time,
)
from petaport.cli.session import error_line, exit_code_for
from petaport.cli.submit import exit_status
from petaport.client import (
    ClientConfig,
    ConnectionFailed,
    Forbidden,
    NotFound,
    NotLoggedIn,
    PetaportClient,
    PetaportError,
    Unauthenticated,
    load_config,
    save_config,
)
from petaport.client.config import clear_token, config_path, load_stored
from petaport.domain.jobs import JobState
from petaport.schemas import CentreRoleName, JobCreate, JobPublic, JobStateName, ScopeName

# -- memory and time -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mb"),
    [("16G", 16384), ("512M", 512), ("1T", 1048576), ("1024", 1024), ("1.5G", 1536),
     ("8g", 8192), ("2GiB", 2048)],
)  # fmt: skip
def test_mem_accepts_slurm_sizes(text: str, mb: int) -> None:
    assert parse_mem(text) == mb


@pytest.mark.parametrize("text", ["lots", "16X", "", "G16", "-1G"])
def test_mem_refuses_nonsense_naming_the_flag(text: str) -> None:
    with pytest.raises(UsageProblem) as info:
        parse_mem(text)
    assert info.value.param == "--mem"
    assert "memory" in info.value.message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 5400), ("5:30", 330), ("1:30:00", 5400), ("2-00:00:00", 172800), ("1-12", 129600),
     ("2h", 7200), ("30s", 30), ("45m", 2700), ("3d", 259200)],
)  # fmt: skip
def test_time_accepts_slurm_formats(text: str, seconds: int) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["soon", "1:2:3:4", "0", "x-1:00", "1h30"])
def test_time_refuses_nonsense_and_zero(text: str) -> None:
    with pytest.raises(UsageProblem) as info:
        parse_time(text)
    assert info.value.param == "--time"


# -- KEY=VAL flags -----------------------------------------------------------------------


def test_pairs_keep_equals_signs_and_empty_values() -> None:
    assert parse_pairs(["A=1", "URL=a=b", "EMPTY="]) == {"A": "1", "URL": "a=b", "EMPTY": ""}


def test_pairs_later_flag_wins() -> None:
    assert parse_pairs(["A=1", "A=2"]) == {"A": "2"}


@pytest.mark.parametrize("item", ["NOEQ", "1A=2", "=v", "A-B=1"])
def test_pairs_refuse_bad_names(item: str) -> None:
    with pytest.raises(UsageProblem) as info:
        parse_pairs([item], "--env")
    assert info.value.param == "--env"


# -- YAML job files and precedence -------------------------------------------------------

JOB_YAML = """
name: train
project: harbour-u/llm-pretrain
command: [python, train.py, --epochs, "3"]
gpus: 4
memory_mb: 64G
walltime_s: 2h
environment: {A: from-file, B: kept}
labels: {team: nlp}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def test_job_file_reads_fields_and_human_units(tmp_path: Path) -> None:
    fields = load_job_file(_write(tmp_path, JOB_YAML))
    assert fields["memory_mb"] == 65536
    assert fields["walltime_s"] == 7200
    assert fields["command"] == ["python", "train.py", "--epochs", "3"]


def test_job_file_alone_builds_the_job(tmp_path: Path) -> None:
    job = build_job(SubmitFlags(), load_job_file(_write(tmp_path, JOB_YAML)))
    assert (job.name, job.project, job.gpus, job.memory_mb) == (
        "train", "harbour-u/llm-pretrain", 4, 65536)  # fmt: skip
    assert job.cpus == 1  # JobCreate's default where neither file nor flag says


def test_flags_override_the_file_and_merge_maps(tmp_path: Path) -> None:
    flags = SubmitFlags(gpus=8, mem="16G", time="1:00:00", project="lantern-ai/vision-poc",
                        env=["A=from-flag", "C=new"], labels=["run=7"],
                        command=["python", "eval.py"])  # fmt: skip
    job = build_job(flags, load_job_file(_write(tmp_path, JOB_YAML)))
    assert (job.gpus, job.memory_mb, job.walltime_s) == (8, 16384, 3600)
    assert job.project == "lantern-ai/vision-poc"
    assert job.environment == {"A": "from-flag", "B": "kept", "C": "new"}
    assert job.labels == {"team": "nlp", "run": "7"}
    assert job.command == ["python", "eval.py"]
    assert job.name == "train"  # the file's name stays unless --name is given


def test_script_flag_replaces_a_file_command(tmp_path: Path) -> None:
    job = build_job(SubmitFlags(script="echo hi\n"), load_job_file(_write(tmp_path, JOB_YAML)))
    assert job.script == "echo hi\n"
    assert job.command is None


def test_flags_only_job_gets_a_name_from_the_program() -> None:
    job = build_job(SubmitFlags(command=["/usr/bin/python3", "-c", "pass"], gpus=1),
                    default_project="harbour-u/llm-pretrain")  # fmt: skip
    assert job.name == "python3"
    assert job.project == "harbour-u/llm-pretrain"


def test_default_name_is_always_a_valid_job_name() -> None:
    assert default_name(["./my train!.sh"], None) == "my-train-.sh"
    assert default_name(None, "echo") == "script"
    assert default_name(["!!!"], None) == "job"


def test_missing_project_is_a_usage_problem() -> None:
    with pytest.raises(UsageProblem) as info:
        build_job(SubmitFlags(command=["true"]))
    assert info.value.param == "--project"


def test_missing_command_is_a_usage_problem() -> None:
    with pytest.raises(UsageProblem, match="command"):
        build_job(SubmitFlags(project="a/b"))


def test_invalid_values_name_the_field() -> None:
    with pytest.raises(UsageProblem, match="gpus"):
        build_job(SubmitFlags(project="a/b", command=["true"], gpus=65))


def test_unknown_file_field_is_refused(tmp_path: Path) -> None:
    fields = load_job_file(_write(tmp_path, "project: a/b\ncommand: ['true']\nmemry_mb: 5\n"))
    with pytest.raises(UsageProblem, match="memry_mb"):
        build_job(SubmitFlags(), fields)


def test_yaml_non_string_command_is_refused_readably(tmp_path: Path) -> None:
    fields = load_job_file(_write(tmp_path, "project: a/b\ncommand: [true]\n"))
    with pytest.raises(UsageProblem, match=r"command\.0"):
        build_job(SubmitFlags(), fields)


@pytest.mark.parametrize("text", ["- a\n- b\n", "name: [unclosed\n"])
def test_job_file_must_be_a_yaml_mapping(tmp_path: Path, text: str) -> None:
    with pytest.raises(UsageProblem) as info:
        load_job_file(_write(tmp_path, text))
    assert info.value.param == "-f"


def test_missing_job_file_is_a_usage_problem(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem, match="cannot read"):
        load_job_file(tmp_path / "nope.yaml")


def test_bad_memory_in_job_file_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem) as info:
        load_job_file(_write(tmp_path, "memory_mb: lots\n"))
    assert info.value.param is not None and "memory_mb" in info.value.param


# -- choices, exit codes, display --------------------------------------------------------


@pytest.mark.parametrize(
    ("enum_cls", "literal"),
    [(JobState, JobStateName), (ScopeChoice, ScopeName), (CentreRoleChoice, CentreRoleName)],
)
def test_choice_enums_mirror_the_wire_literals(enum_cls: type[enum.Enum], literal: object) -> None:
    assert {m.value for m in enum_cls} == set(get_args(literal))


@pytest.mark.parametrize(
    ("error", "code"),
    [(NotFound(404, "not_found", "x", None), 3), (Unauthenticated(401, "u", "x", None), 3),
     (NotLoggedIn("x"), 3), (Forbidden(403, "forbidden", "x", None), 1),
     (PetaportError(500, "internal_error", "x", None), 1),
     (ConnectionFailed("http://h:1", "refused"), 4)],
)  # fmt: skip
def test_exit_codes(error: Exception, code: int) -> None:
    assert exit_code_for(error) == code  # type: ignore[arg-type]


def test_error_line_is_one_line_with_code() -> None:
    line = error_line(NotFound(404, "not_found", "job job_x\nnot found", None))
    assert line == "Error: job job_x not found (not_found)"


def _job(state: JobStateName, exit_code: int | None) -> JobPublic:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return JobPublic(id="job_x", name="n", org_id="o", project_id="p", user_id="u", state=state,
                     reason=None, priority=0, submitted_at=now, started_at=None, ended_at=None,
                     exit_code=exit_code, attempt_count=1, backend="local", command=["true"],
                     script=None, environment={}, working_dir=None, gpus=0, gpu_model=None,
                     cpus=1, memory_mb=1, nodes=1, walltime_s=None, qos="on-demand",
                     labels={})  # fmt: skip


@pytest.mark.parametrize(
    ("state", "exit_code", "status"),
    [("COMPLETED", 0, 0), ("FAILED", 3, 3), ("CANCELLED", None, 1), ("FAILED", -9, 137),
     ("TIMEOUT", 0, 1)],
)  # fmt: skip
def test_wait_exit_status_follows_the_job(
    state: JobStateName, exit_code: int | None, status: int
) -> None:
    assert exit_status(_job(state, exit_code)) == status


def test_display_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PETAPORT_TIMEZONE", raising=False)
    assert fmt_time(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01 08:00:00 HKT"
    monkeypatch.setenv("PETAPORT_TIMEZONE", "UTC")
    assert fmt_time(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01 00:00:00 UTC"
    assert (fmt_mem(16384), fmt_mem(1536), fmt_mem(2 * 1024 * 1024)) == ("16G", "1536M", "2T")
    assert (fmt_duration(90), fmt_duration(3725), fmt_duration(90061)) == (
        "1m30s", "1h02m05s", "1d01h01m")  # fmt: skip


def test_unknown_timezone_is_a_usage_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PETAPORT_TIMEZONE", "Mars/Olympus")
    with pytest.raises(UsageProblem, match="PETAPORT_TIMEZONE"):
        local_zone()


# -- the client's config file ------------------------------------------------------------


def test_config_round_trip_is_private(tmp_path: Path) -> None:
    env = {"PETAPORT_CONFIG_DIR": str(tmp_path / "cfg")}
    path = save_config(ClientConfig("http://h:1", "tok_a.b", "tok_a", "alice"), env)
    assert path == config_path(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_config(env) == ClientConfig("http://h:1", "tok_a.b", "tok_a", "alice")
    clear_token(env)
    assert load_stored(env) == ClientConfig("http://h:1")


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {"PETAPORT_CONFIG_DIR": str(tmp_path)}
    save_config(ClientConfig("http://file:1", "tok_f.s", "tok_f"), env)
    env |= {"PETAPORT_URL": "http://env:2", "PETAPORT_TOKEN": "tok_e.s"}
    config = load_config(env)
    assert (config.url, config.token, config.token_id) == ("http://env:2", "tok_e.s", None)


def test_no_config_file_means_defaults(tmp_path: Path) -> None:
    assert load_config({"PETAPORT_CONFIG_DIR": str(tmp_path)}) == ClientConfig()


# -- the SDK's wire handling (httpx.MockTransport: no network) ---------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, monkeypatch: pytest.MonkeyPatch) -> PetaportClient:
    monkeypatch.setattr("time.sleep", lambda _s: None)  # retries and polls, without waiting
    http = httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(handler))
    return PetaportClient("http://api.test", "tok_a.b", http=http)


def test_problem_json_becomes_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = {"type": "https://petaport.dev/problems/not_found", "title": "Not found",
               "status": 404, "detail": "job job_x not found", "code": "not_found"}  # fmt: skip
    api = _client(lambda r: httpx.Response(404, json=problem), monkeypatch)
    with pytest.raises(NotFound) as info:
        api.get_job("job_x")
    assert (info.value.status, info.value.code, info.value.detail) == (
        404, "not_found", "job job_x not found")  # fmt: skip
    assert info.value.problem is not None and info.value.problem.title == "Not found"


def test_submit_is_retried_with_the_same_idempotency_key(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadTimeout("lost", request=request)
        return httpx.Response(201, json=_job("PENDING", None).model_dump(mode="json"))

    api = _client(handler, monkeypatch)
    job = api.submit_job(JobCreate(name="t", project="a/b", command=["true"]))
    assert job.id == "job_x"
    keys = [r.headers["Idempotency-Key"] for r in seen]
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) == 36
    assert seen[0].headers["Authorization"] == "Bearer tok_a.b"


def test_requeue_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503, text="busy")

    with pytest.raises(PetaportError) as info:
        _client(handler, monkeypatch).requeue_job("job_x")
    assert calls == ["/v1/jobs/job_x/requeue"] and info.value.code == "http_503"


def test_lists_follow_next_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    def org(n: int) -> dict[str, str]:
        return {"id": f"org_{n}", "name": "n", "slug": f"o{n}", "category": "startup",
                "created_at": "2025-01-01T00:00:00Z"}  # fmt: skip

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "c1":
            return httpx.Response(200, json={"items": [org(3)], "next_cursor": None})
        return httpx.Response(200, json={"items": [org(1), org(2)], "next_cursor": "c1"})

    api = _client(handler, monkeypatch)
    assert [o.slug for o in api.iter_orgs()] == ["o1", "o2", "o3"]
    assert [o.slug for o in api.list_orgs(limit=2)] == ["o1", "o2"]


def test_follow_logs_polls_from_the_last_offset_until_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = [(0, "", 0, False), (0, "ab", 2, False), (2, "", 2, False), (2, "c\n", 4, True)]
    asked: list[tuple[str | None, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append((request.url.params.get("offset"), request.url.params.get("attempt")))
        offset, text, next_offset, complete = script[len(asked) - 1]
        return httpx.Response(200, json={"attempt": 1, "stream": "stdout", "offset": offset,
                                         "next_offset": next_offset, "text": text,
                                         "complete": complete})  # fmt: skip

    chunks = list(_client(handler, monkeypatch).follow_logs("job_x"))
    assert "".join(chunks) == "abc\n"
    assert asked == [("0", None), ("0", "1"), ("2", "1"), ("2", "1")]


def test_connection_failure_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(ConnectionFailed, match=r"cannot reach Petaport at http://api\.test"):
        _client(handler, monkeypatch).me()
