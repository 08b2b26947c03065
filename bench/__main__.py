"""`make bench`: writes reports/bench.md and reports/bench.json and refreshes the
table in docs/measurements.md. Takes about 8 minutes on 2 cores, plus 4 for the
conversation-length section, 2 for knowledge-base size and stored conversations, 2 for
actions in or out of process, 3-4 for the production layout's scaling section and 1-2
for the hostile one; `--only length` (or `growth`, `hop`, `scaling`, `hostile`) reruns
that section alone, into the last full report."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from bench import clinc_oos, growth, hop, hostile, length, load, public_nlu, report, scaling
from bot.knowledge import document
from bot.settings import PROJECT_ROOT
from harness import heldout
from harness.servers import free_port, running_assistant

RASA = str(Path(sys.executable).parent / "rasa")
ENV = {
    **os.environ,
    "PYTHONPATH": str(PROJECT_ROOT),
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
    }


# Runs a command and prints the peak memory of its largest process, so that each
# measurement has its own peak (RUSAGE_CHILDREN of this process would accumulate).
_MEASURE = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def timed_subprocess(command: list[str], cwd: Path) -> dict:
    """Wall time and the peak memory of the largest process the command ran."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], cwd=cwd, env=ENV, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return {
        "seconds": time.perf_counter() - started,
        "peak_mb": int(result.stdout.strip().splitlines()[-1]) / 1024,
    }


def first_answer_seconds(url: str, started: float) -> float:
    body = json.dumps({"sender": "bench-first", "message": "hello"}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


@contextmanager
def stock_assistant(workdir: Path):
    """A stock `rasa init` assistant, trained here, served on a free port."""
    project = workdir / "stock"
    project.mkdir(parents=True)
    training = timed_subprocess([RASA, "init", "--no-prompt", "--init-dir", str(project)], workdir)
    port = free_port()
    log = (workdir / "stock.log").open("wb")
    started = time.perf_counter()
    server = subprocess.Popen(
        [RASA, "run", "--port", str(port), "--interface", "127.0.0.1"],
        cwd=project,
        env=ENV,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"stock Rasa server exited; see {workdir / 'stock.log'}")
            try:
                urllib.request.urlopen(f"{url}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.25)
        yield {
            "url": url,
            "training": training,
            "pid": server.pid,
            "startup_s": first_answer_seconds(url, started),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def speed_of_ours(workdir: Path, runs: int) -> dict:
    command = [RASA, "train", "--domain", "domain", "--force", "--fixed-model-name", "bench"]
    with tempfile.TemporaryDirectory() as out:
        training = timed_subprocess([*command, "--out", out], PROJECT_ROOT)
    started = time.perf_counter()
    with running_assistant(workdir) as assistant:
        startup = first_answer_seconds(assistant.url, started)
        levels = load.measure(assistant.url, runs)
        memory = {
            "rasa_mb": load.peak_rss_mb(assistant.rasa.pid),
            "actions_mb": load.peak_rss_mb(assistant.actions.pid) if assistant.actions else 0,
        }
    return {"training": training, "startup_s": startup, "levels": levels, "memory": memory}


def speed_of_stock(workdir: Path, runs: int) -> dict:
    with stock_assistant(workdir) as stock:
        levels = load.measure(stock["url"], runs)
        memory = {"rasa_mb": load.peak_rss_mb(stock["pid"])}
        return {
            "training": stock["training"],
            "startup_s": stock["startup_s"],
            "levels": levels,
            "memory": memory,
        }


def reported(name: str, measure, *args) -> dict:
    """A section's figures; a failure there is reported, not fatal to the rest."""
    try:
        return measure(*args)
    except Exception as error:  # noqa: BLE001 - the report says what went wrong
        print(f"{name} failed: {error}", file=sys.stderr, flush=True)
        return {"failed": f"{type(error).__name__}: {error}", "cores": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each load level")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for Braun et al. 2017")
    parser.add_argument(
        "--scaling-runs", type=int, default=2, help="repetitions of each level, scaling section"
    )
    parser.add_argument(
        "--only",
        choices=["length", "growth", "hop", "scaling", "hostile"],
        help="run this section alone",
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports")
    args = parser.parse_args(argv)

    results: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.only is None:
            run_quality_and_speed(results, workdir, args)
        if args.only in (None, "length"):
            print("conversation length: 200 turns, one conversation after another ...", flush=True)
            results["length"] = reported("length", length.run, workdir / "length", stock_assistant)
        if args.only in (None, "growth"):
            print("growth: knowledge-base size and stored conversations ...", flush=True)
            results["growth"] = reported("growth", growth.run, workdir / "growth")
        if args.only in (None, "hop"):
            print("actions over HTTP or in the Rasa server ...", flush=True)
            results["hop"] = reported("hop", hop.run, workdir / "hop")
        if args.only in (None, "scaling"):
            print("scaling: one and two Rasa servers on PostgreSQL + Redis ...", flush=True)
            results["scaling"] = reported(
                "scaling", scaling.run, workdir / "scaling", args.scaling_runs
            )
        if args.only in (None, "hostile"):
            print("hostile: a flood from one client while another visitor chats ...", flush=True)
            results["hostile"] = reported("hostile", hostile.run, workdir / "hostile")

    args.out.mkdir(parents=True, exist_ok=True)
    if args.only:  # into the last full report, the other sections as that run left them
        previous = args.out / "bench.json"
        last = json.loads(previous.read_text()) if previous.exists() else {}
        alone = {**results[args.only], "run_alone_on": results["machine"]["date"]}
        results = {"machine": results["machine"], **last, args.only: alone}
    (args.out / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    complete = "speed" in results  # a full report, with this section rerun or not
    markdown = report.render(results) if complete else report.render_alone(results, args.only)
    if complete:
        report.update_summary(
            PROJECT_ROOT / "docs" / "measurements.md", report.summary_table(results)
        )
    (args.out / "bench.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    sections = ("length", "growth", "hop", "scaling", "hostile")
    return 1 if any("failed" in results.get(s, {}) for s in sections) else 0


def run_quality_and_speed(results: dict, workdir: Path, args: argparse.Namespace) -> None:
    print("held-out enquiries ...", flush=True)
    facts = document.read()
    phones = {heldout.contact_label(c.key): c.phone for c in facts.contacts}
    with running_assistant(workdir / "eval") as assistant:
        results["heldout"] = heldout.evaluate_sets(assistant, heldout.HELDOUT_SETS, phones)
    print("CLINC150 out-of-scope ...", flush=True)
    results["clinc"] = clinc_oos.run()
    print("Braun et al. 2017 ...", flush=True)
    results["braun"] = public_nlu.braun(list(range(1, args.seeds + 1)))
    print("HWU64 fold 1 ...", flush=True)
    results["hwu64"] = public_nlu.hwu64(seed=1)
    print("speed: this assistant ...", flush=True)
    results["speed"] = {"ours": speed_of_ours(workdir / "ours", args.runs)}
    print("speed: stock rasa init assistant ...", flush=True)
    results["speed"]["stock"] = speed_of_stock(workdir, args.runs)


if __name__ == "__main__":
    sys.exit(main())
