"""Run the atheris harnesses one after another for a bounded time each and sum up.

    .venv/bin/python fuzz/run.py --seconds 600 --keep-going            # the long run
    .venv/bin/python fuzz/run.py --seconds 5 --targets hash_parse image # a quick one

Each target gets a corpus folder under --workdir (seeded fresh from fuzz/seeds.py), runs niced,
and its libFuzzer final stats are parsed. With --keep-going a finding does not stop the run: each
distinct one (by exception type and line) is appended to <workdir>/<target>/findings.jsonl.
Prints one line per target and writes <workdir>/summary.json. Exit status 1 if anything was found.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fuzz.seeds import write_seeds  # noqa: E402
from fuzz.targets import MAX_LEN, TARGETS  # noqa: E402

STAT = re.compile(r"stat::(\w+):\s+(\d+)")


def run_target(target: str, seconds: int, workdir: Path, keep_going: bool, timeout_s: int) -> dict[str, Any]:
    tdir = workdir / target
    corpus, seed_dir = tdir / "corpus", tdir / "seeds"
    corpus.mkdir(parents=True, exist_ok=True)
    n_seeds = write_seeds(target, seed_dir)
    findings = tdir / "findings.jsonl"
    findings.unlink(missing_ok=True)
    env = dict(os.environ)
    if keep_going:
        env["FUZZ_FINDINGS"] = str(findings)
    cmd = [
        "nice", "-n", "10", sys.executable, str(HERE / "fuzz.py"), target,
        f"-max_total_time={seconds}", f"-max_len={MAX_LEN[target]}", f"-timeout={timeout_s}",
        "-rss_limit_mb=3072", "-print_final_stats=1", f"-artifact_prefix={tdir}/", str(corpus), str(seed_dir),
    ]  # fmt: skip
    started = time.monotonic()
    with (tdir / "log.txt").open("wb") as log:
        proc = subprocess.run(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tdir, env=env, timeout=seconds + 600
        )
    text = (tdir / "log.txt").read_text(errors="replace")
    stats = {k: int(v) for k, v in STAT.findall(text)}
    found = [json.loads(line) for line in findings.read_text().splitlines()] if findings.exists() else []
    crashes = sorted(p.name for p in tdir.glob("crash-*")) + sorted(p.name for p in tdir.glob("timeout-*"))
    crashes += sorted(p.name for p in tdir.glob("oom-*"))
    return {
        "target": target,
        "seconds": round(time.monotonic() - started, 1),
        "executions": stats.get("number_of_executed_units", 0),
        "exec_per_sec": stats.get("average_exec_per_sec", 0),
        "corpus_added": stats.get("new_units_added", 0),
        "seeds": n_seeds,
        "peak_rss_mb": stats.get("peak_rss_mb", 0),
        "exit_code": proc.returncode,
        "findings": [f["signature"] for f in found],
        "artifacts": crashes,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10, help="fuzzing time per target")
    ap.add_argument("--targets", nargs="*", default=list(TARGETS), choices=list(TARGETS))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/takeitdown-fuzz"))
    ap.add_argument("--keep-going", action="store_true", help="record findings and continue")
    ap.add_argument("--timeout", type=int, default=30, help="seconds one input may take (a hang)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for target in args.targets:
        r = run_target(target, args.seconds, args.workdir, args.keep_going, args.timeout)
        results.append(r)
        print(
            f"{target:20} {r['executions']:>10,} execs in {r['seconds']:>6}s ({r['exec_per_sec']}/s), "
            f"corpus +{r['corpus_added']}, findings {len(r['findings'])}, artifacts {len(r['artifacts'])}",
            flush=True,
        )
        for sig in r["findings"]:
            print(f"    finding: {sig}", flush=True)
    total = sum(int(r["executions"]) for r in results)
    bad = sum(len(r["findings"]) + len(r["artifacts"]) for r in results)
    print(f"total {total:,} executions, {bad} findings/artifacts")
    (args.workdir / "summary.json").write_text(json.dumps({"results": results, "total": total}, indent=2))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
