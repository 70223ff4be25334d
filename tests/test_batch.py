"""`egvs batch`: failures isolated, reruns skip, --force redoes, names never collide, local and Ray
give the same bytes, and a stopped batch leaves only complete outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import egvs
from egvs.batching import tasks as batch_tasks
from egvs.cli.main import main
from egvs.example import make_video
from egvs.request import SummaryRequest
from egvs.shortform import ShortsOptions

OPTIONS = {"duration": 1.5}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two good 3 s videos with the same file name in different folders, and a corrupt one."""
    root = tmp_path_factory.mktemp("batch-in")
    for i, sub in enumerate(("a", "b")):
        (root / sub).mkdir()
        make_video(root / sub / "intro.mp4", 3.0, [(0, 1, "calm"), (1, 3, "lively")], seed=i)
    (root / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    (root / "notes.txt").write_text("not a video: never picked up")
    return root


@pytest.fixture(scope="module")
def first_run(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("batch-out")
    code = main(["batch", str(folder), "-o", str(out), "--workers", "2", "--duration", "1.5", "-q"])
    return code, out


def report(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]


def outputs(out: Path) -> dict[str, bytes]:
    """Every summary video and analysis JSON under ``out``, by relative path."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.suffix in (".mp4", ".json") and not p.name.endswith(".batch.json")
    }


def test_failure_is_isolated_and_recorded(first_run: tuple[int, Path], folder: Path) -> None:
    code, out = first_run
    assert code == 2  # the corrupt file's exit class (InputError)
    rows = {Path(r["input"]).relative_to(folder).as_posix(): r for r in report(out)}
    assert set(rows) == {"a/intro.mp4", "b/intro.mp4", "bad.mp4"}
    bad = rows["bad.mp4"]
    assert bad["status"] == "failed" and bad["exit_code"] == 2
    assert bad["error"] and "\n" not in bad["error"] and "bad.mp4" in bad["error"]
    for name in ("a/intro.mp4", "b/intro.mp4"):
        row = rows[name]
        assert row["status"] == "ok" and row["error"] is None
        assert row["media_seconds"] == pytest.approx(3.0, abs=0.1) and row["wall_seconds"] > 0
        for path in row["outputs"].values():
            assert Path(path).is_file()
    # The two intro.mp4 keep their folders, so their outputs do not collide.
    assert set(outputs(out)) == {"a/intro.mp4", "a/intro.json", "b/intro.mp4", "b/intro.json"}
    assert (out / "a" / "intro.mp4").read_bytes() != (out / "b" / "intro.mp4").read_bytes()
    summary = json.loads((out / "a" / "intro.json").read_text())
    assert summary["summary"]["duration"] == pytest.approx(1.5, abs=0.5)
    assert not [p for p in out.rglob(".*")]  # no temporary files left


def test_rerun_skips_and_force_redoes(first_run: tuple[int, Path], folder: Path) -> None:
    _, out = first_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")}
    lines = len(report(out))
    start = time.perf_counter()
    rerun = egvs.batch([folder], output_dir=out, workers=2, **OPTIONS)
    assert time.perf_counter() - start < 30  # only the corrupt file is tried again
    assert {r.input.name: r.status for r in rerun.results} == {
        "intro.mp4": "skipped",
        "bad.mp4": "failed",
    }
    assert rerun.count("skipped") == 2 and rerun.exit_code == 2
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.mp4")} == before
    assert len(report(out)) == lines + 3  # the report is appended to

    start = time.perf_counter()
    again = egvs.batch([folder / "a"], output_dir=out / "a", **OPTIONS)
    assert [r.status for r in again.results] == ["skipped"] and again.exit_code == 0
    assert time.perf_counter() - start < 3  # nothing to do: no worker is started
    forced = egvs.batch([folder / "a"], output_dir=out / "a", force=True, **OPTIONS)
    assert [r.status for r in forced.results] == ["ok"], forced.table()
    assert forced.exit_code == 0
    assert (out / "a" / "intro.mp4").stat().st_mtime_ns > before[out / "a" / "intro.mp4"]


def test_changed_content_or_options_are_not_skipped(
    first_run: tuple[int, Path], folder: Path, tmp_path: Path
) -> None:
    _, out = first_run
    found = [(p, r) for p, r in batch_tasks.find_inputs([folder], out) if p.parent.name == "a"]

    def task(request: SummaryRequest, digest: str | None) -> batch_tasks.Task:
        [t] = batch_tasks.name_tasks(found, out, "summarize", request, True)
        return batch_tasks.Task(t.input, t.base, t.mode, t.request, False, digest)

    digest = egvs.cache.file_digest(folder / "a" / "intro.mp4")
    same = SummaryRequest.from_options(**OPTIONS)
    assert task(same, digest).finished() is not None  # use_cache does not matter
    assert task(SummaryRequest.from_options(duration=2.0), digest).finished() is None
    assert task(same, "0" * 64).finished() is None


def test_output_names_never_collide(tmp_path: Path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "intro.mp4").write_bytes(b"")
    (tmp_path / "x" / "intro.webm").write_bytes(b"")
    (tmp_path / "x" / "solo.mp4").write_bytes(b"")
    (tmp_path / "list.csv").write_text("path,title\ny/intro.mp4,second\nx/solo.mp4,solo\n")
    given = [tmp_path / "x" / "intro.mp4", tmp_path / "x" / "intro.webm"]
    found = batch_tasks.find_inputs(given, tmp_path / "out")
    found += [(p, Path(p.stem)) for p in batch_tasks.read_manifest(tmp_path / "list.csv")]
    found += batch_tasks.find_inputs([tmp_path / "x"], tmp_path / "out")  # duplicates dropped
    tasks = batch_tasks.name_tasks(
        found, tmp_path / "out", "summarize", SummaryRequest.from_options(), True
    )
    files = [p for t in tasks for p in [*t.outputs.values(), t.sidecar]]
    assert len(tasks) == 4 and len(set(files)) == len(files) == 12
    names = {t.input.relative_to(tmp_path).as_posix(): t.base.name for t in tasks}
    assert names["x/solo.mp4"] == "solo"  # no collision, no suffix
    assert len({names[k] for k in ("x/intro.mp4", "x/intro.webm", "y/intro.mp4")}) == 3
    assert all(names[k].startswith("intro-") for k in ("x/intro.mp4", "x/intro.webm"))


def test_leftovers_of_killed_workers_are_removed(tmp_path: Path) -> None:
    [task] = batch_tasks.name_tasks(
        [(tmp_path / "v.mp4", Path("v"))], tmp_path, "summarize", SummaryRequest(), True
    )
    gone = subprocess.Popen(["true"])
    gone.wait()
    left = tmp_path / f".v.mp4.{gone.pid}.0123abcd.mp4"
    left.write_bytes(b"half a video")
    keep = tmp_path / f".v.mp4.{os.getpid()}.0123abcd.mp4"  # a live writer's file
    keep.write_bytes(b"being written")
    batch_tasks.remove_partial([task])
    assert not left.exists() and keep.exists()


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    """SIGTERM after the first video: exit 143, the report says what finished and what was
    stopped, and every file left belongs to a finished video."""
    (tmp_path / "in").mkdir()
    for i in range(4):
        make_video(tmp_path / "in" / f"v{i}.mp4", 6.0, seed=i)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "egvs.cli.main", "batch", str(tmp_path / "in"), "-o", str(out)]
    proc = subprocess.Popen([*cmd, "-q", "--no-cache"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not ((out / "batch.jsonl").exists() and (out / "batch.jsonl").read_text()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 143
    # -q: that line alone; no summary table, no "leaked semaphore" from the stopped workers, no
    # "Bad file descriptor" from the pool's manager thread at exit.
    assert proc.stderr.read() == "egvs: terminated\n"
    rows = report(out)
    assert {r["status"] for r in rows} <= {"ok", "interrupted"}
    assert len(rows) == 4 and rows[0]["status"] == "ok"
    assert any(r["status"] == "interrupted" for r in rows)
    expected = {"batch.jsonl"}
    for row in rows:
        if row["status"] == "ok":
            stem = Path(row["input"]).stem
            expected |= {f"{stem}.mp4", f"{stem}.json", f"{stem}.batch.json"}
    assert {p.name for p in out.iterdir()} == expected


def test_stopped_local_pool_leaves_no_thread_behind(folder: Path, tmp_path: Path) -> None:
    """Closing the local engine's results early (how a stop ends them) stops the workers and
    joins the pool's manager thread: left running at the interpreter's exit, it closed its
    wake-up pipe under the exit's write ("Exception ignored ... Bad file descriptor")."""
    from egvs.batching.engines import local_results

    found = [(folder / sub / "intro.mp4", Path(sub) / "intro") for sub in ("a", "b")]
    tasks = batch_tasks.name_tasks(found, tmp_path, "analyze", SummaryRequest(), False)
    before = set(threading.enumerate())
    results = local_results(tasks, workers=1, threads=1)  # the second video still runs
    assert next(results).status == "ok"
    results.close()
    assert set(threading.enumerate()) <= before


def test_ray_is_imported_only_by_its_engine() -> None:
    code = "import sys, egvs, egvs.cli.main; egvs.batch; assert 'ray' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_quiet_ray_batch_prints_nothing(folder: Path, tmp_path: Path) -> None:
    """-q: Ray's own start-up notices (its token-authentication warning) are not printed."""
    pytest.importorskip("ray")
    run = subprocess.run(
        [sys.executable, "-m", "egvs.cli.main", "batch", str(folder / "a"), "-o", str(tmp_path)]
        + ["--engine", "ray", "--workers", "1", "--mode", "analyze", "-q"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0 and run.stdout == "" and run.stderr == "", run.stderr


def test_ray_gives_the_same_bytes(first_run: tuple[int, Path], folder: Path, tmp_path: Path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        result = egvs.batch(
            [folder], output_dir=tmp_path, engine="ray", workers=2, use_cache=False, **OPTIONS
        )
    finally:
        ray.shutdown()
    assert result.count("ok") == 2 and result.count("failed") == 1 and result.exit_code == 2
    local, remote = outputs(first_run[1]), outputs(tmp_path)
    assert len(local) == 4 and set(remote) == set(local)
    assert [name for name in local if remote[name] != local[name]] == []


def test_shorts_mode_makes_clips_per_video_and_resumes(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "shorts"
    args = ["batch", str(folder / "a"), "-o", str(out), "--mode", "shorts", "-q", "--workers", "1"]
    args += ["--aspect", "1:1", "--no-captions", "--length", "2-5"]
    assert main(args) == 0
    manifest = json.loads((out / "intro.shorts.json").read_text())
    assert manifest["schema"] == "egvs.shorts/1"
    assert manifest["options"]["aspect"] == "1:1" and not manifest["options"]["captions"]
    (clip,) = manifest["clips"]  # a 3 s video holds one clip of 2-5 s
    assert (out / clip["files"]["video"]).parent == out / "intro-shorts"
    assert (out / clip["files"]["video"]).is_file()
    assert main(args) == 0
    assert [r["status"] for r in report(out)] == ["ok", "skipped"]
    # Other shorts options are other outputs: the video is made again.
    assert main([*args[:-2], "--length", "2-3"]) == 0
    assert [r["status"] for r in report(out)] == ["ok", "skipped", "ok"]
    # The same options built in Python (the defaults spelled out) are the same outputs.
    same = ShortsOptions.from_options(aspect="1:1", captions=False, length="2-3", count=5)
    done = egvs.batch([folder / "a"], output_dir=out, mode="shorts", mode_options=same)
    assert [r.status for r in done.results] == ["skipped"]
    with pytest.raises(egvs.errors.EgvsError, match="aspect"):
        egvs.batch([folder / "a"], output_dir=out, mode="shorts", mode_options={"aspect": "2:1"})
    # A summary length means nothing to shorts: refused, not silently ignored.
    assert main([*args, "--duration", "60"]) == 1
    with pytest.raises(egvs.errors.EgvsError, match="no options"):
        egvs.batch([folder / "a"], output_dir=out, mode="analyze", mode_options=same)


def test_manifest_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    """Excel saves "CSV UTF-8" with a byte-order mark before the header's first name."""
    (tmp_path / "talk.mp4").write_bytes(b"")
    (tmp_path / "list.csv").write_bytes("\ufeffpath,title\ntalk.mp4,one\n".encode())
    assert batch_tasks.read_manifest(tmp_path / "list.csv") == [(tmp_path / "talk.mp4").absolute()]


def test_read_only_output_folder_is_an_output_error(
    capsys, folder: Path, read_only_dir: Path
) -> None:
    """Exit 3 naming the report, before any video runs (it was an internal error, exit 70)."""
    code = main(["batch", str(folder / "a"), "-o", str(read_only_dir), "-q"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert f"egvs: error: cannot write the batch report {read_only_dir / 'batch.jsonl'}" in err
    assert list(read_only_dir.iterdir()) == []
