"""Per-process overhead of the pipeline's steps (issue 30, 2). Every DVC stage is one `ipad` process:
it imports, checks params, starts its Prefect flow run and MLflow runs, does the step's work, exits.
This times representative stage commands around their real work (the library function each step
exists for), against one local Prefect server as `make demo` runs them.

Needs a finished `make demo` in this checkout: one device's prepared data, models and evaluations are
copied (the bases linked) into a temporary project, so nothing of the checkout is written.
--rev REV (repeatable) runs the same commands with the code of git revision REV too, alternated
with this checkout's code (--no-checkout: the revisions only), so that each sees the same load (the
other processes of the machine).

    python benchmarks/bench_step_overhead.py [--repeat 2] [--rev REV]... [--no-checkout] [--device R01] [--method conv_ae]

Per command and code: wall (process start to exit), work, overhead = wall - work, the CPU seconds of
the process and its children (cpu_s) and of the overhead (less the work's), the load average when it
started, and which heavy modules the process loaded. An import made lazily inside the work counts as
work: compare wall and cpu_s for the whole. Writes benchmarks/results/bench_step_overhead.json.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import prefect_server, write_result

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "timm", "torchvision", "sklearn", "mlflow", "prefect", "great_expectations", "matplotlib")
MARK = "STEP-OVERHEAD "


def commands(device: str, method: str) -> dict[str, tuple[list[str], list[str]]]:
    """name: (the step's work as module:function, the ipad arguments): one command per kind of stage."""
    pre = "ipad_vad.preprocess."
    return {
        "prepare": (
            [pre + "cache:cache_scene", pre + "optical_flow:flow_scene", pre + "period:period_scene"],
            ["prepare", "--scene", device],
        ),
        "adapt": (["ipad_vad.jobs.adapt:adapt_to_device"], ["adapt", "--device", device, "--method", method]),
        "evaluate": (["ipad_vad.jobs.evaluate:evaluate_scene"], ["evaluate", "--scene", device, "--method", method]),
        "report": (["ipad_vad.jobs.report:report"], ["report"]),
        "promote": (["ipad_vad.jobs.promote:promote_device"], ["promote", "--device", device]),
    }


def probe(work: list[str], args: list[str]) -> None:
    """In the step's process: the work functions timed (wall and CPU), then `ipad ARGS` as the console
    script runs it; one line with the figures and the modules loaded is printed at exit."""
    spent = {"wall": 0.0, "cpu": 0.0}

    def timed(f):
        def w(*a, **k):
            t, c = time.perf_counter(), time.process_time()
            try:
                return f(*a, **k)
            finally:
                spent["wall"] += time.perf_counter() - t
                spent["cpu"] += time.process_time() - c

        return w

    for spec in work:  # patched before the tasks import them by name
        mod, fn = spec.split(":")
        m = importlib.import_module(mod)
        setattr(m, fn, timed(getattr(m, fn)))
    atexit.register(
        lambda: print(
            MARK + json.dumps({**spent, "loaded": [m for m in HEAVY if m in sys.modules]}), file=sys.stderr, flush=True
        )
    )
    sys.argv = ["ipad", *args]
    from flows.cli import main

    main()


def project(work: Path, device: str, method: str, params_text: str) -> Path:
    """A temporary project with what the commands read: params, manifests, the device's prepared data,
    adapted models and evaluations (copied: the steps rewrite them), the base models (linked)."""
    import yaml

    p = yaml.safe_load(params_text)
    pipe, data = p["pipeline"], p["data"]
    proj = work / "project"
    proj.mkdir()
    (proj / "params.yaml").write_text(params_text)
    (proj / Path(data["root"]).parent).mkdir(parents=True, exist_ok=True)
    os.symlink(ROOT / data["root"], proj / data["root"])
    shutil.copy(ROOT / data["manifest"], proj / data["manifest"])
    shutil.copytree(ROOT / data["manifests"], proj / data["manifests"])
    for kind in ("cache", "flow", "periods"):
        rel = Path(pipe["prepared_root"]) / "devices" / kind / device
        shutil.copytree(ROOT / rel, proj / rel)
    models = Path(pipe["models_root"])
    (proj / models / "base").mkdir(parents=True)
    for base in (ROOT / models / "base").iterdir():
        os.symlink(base, proj / models / "base" / base.name)
    shutil.copytree(ROOT / models / "adapters" / device, proj / models / "adapters" / device)
    shutil.copytree(ROOT / pipe["eval_root"], proj / pipe["eval_root"])
    if not (proj / models / "adapters" / device / method).is_dir():
        raise SystemExit(f"{models}/adapters/{device}/{method} is missing: run make demo first")
    return proj


def run(cmd: list[str], work_fns: list[str], code: Path | None, proj: Path, env: dict) -> dict:
    env = dict(env, PYTHONPATH=f"{code / 'src'}{os.pathsep}{code}" if code else env.get("PYTHONPATH", ""))
    load = float(open("/proc/loadavg").read().split()[0])
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    r = subprocess.run(
        [sys.executable, __file__, "--probe", ",".join(work_fns), "--", *cmd],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
    )
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [x for x in r.stderr.splitlines() if x.startswith(MARK)]
    if r.returncode or not lines:
        raise SystemExit(f"ipad {' '.join(cmd)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}")
    got = json.loads(lines[-1][len(MARK) :])
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    return {
        "wall_s": round(wall, 2),
        "work_s": round(got["wall"], 2),
        "overhead_s": round(wall - got["wall"], 2),
        "overhead_cpu_s": round(cpu - got["cpu"], 2),
        "cpu_s": round(cpu, 2),
        "load": load,
        "loaded": got["loaded"],
    }


def main() -> None:
    if "--probe" in sys.argv:
        i = sys.argv.index("--")
        return probe([s for s in sys.argv[sys.argv.index("--probe") + 1].split(",") if s], sys.argv[i + 1 :])
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--rev", action="append", default=[], help="also run the code of this git revision")
    ap.add_argument("--no-checkout", action="store_true", help="run the --rev revisions only")
    ap.add_argument("--device", default="R01")
    ap.add_argument("--method", default="conv_ae")
    ap.add_argument("--only", help="comma-separated command names (default: all)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ipad-overhead-"))
    try:
        params_text = (  # the params the code reads: the last revision's with --no-checkout
            subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{args.rev[-1]}:params.yaml"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if args.no_checkout and args.rev
            else (ROOT / "params.yaml").read_text()
        )
        proj = project(work, args.device, args.method, params_text)
        codes = {} if args.no_checkout else {"checkout": None}
        for i, rev in enumerate(args.rev):
            codes[rev] = work / f"rev{i}"
            codes[rev].mkdir()
            subprocess.run(
                f"git -C {ROOT} archive {rev} src flows tasks | tar -x -C {codes[rev]}", shell=True, check=True
            )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(
            os.environ,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            PREFECT_HOME=str(work / "prefect"),
            PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            IPAD_PIPELINE_ID="bench-overhead",
            OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
        )
        # as scripts/ui_common.sh starts it for make demo (with the services that record task runs)
        server = prefect_server(dict(env, PREFECT_UI_API_URL=env["PREFECT_API_URL"]), port, "--no-scheduler")
        try:
            cmds = commands(args.device, args.method)
            names = args.only.split(",") if args.only else list(cmds)
            run(
                cmds["report"][1], [], next(iter(codes.values())), proj, env
            )  # warm-up: the MLflow store exists, as after the first stage
            shutil.copy(proj / "mlflow.db", work / "mlflow.db")
            results: dict = {}
            for name in names:
                fns, cmd = cmds[name]
                for i in range(args.repeat):
                    order = list(codes) if i % 2 == 0 else list(codes)[::-1]  # each first as often
                    for code in order:
                        if name == "promote":  # a first registration each time, as in make demo
                            shutil.copy(work / "mlflow.db", proj / "mlflow.db")
                        o = run(cmd, fns, codes[code], proj, env)
                        results.setdefault(name, {"command": "ipad " + " ".join(cmd)}).setdefault(code, []).append(o)
                        print(
                            f"{name:9s} {code:10s} wall {o['wall_s']:6.2f} work {o['work_s']:6.2f} overhead "
                            f"{o['overhead_s']:6.2f} (cpu {o['overhead_cpu_s']:5.2f}) load {o['load']:5.2f} "
                            f"{','.join(o['loaded'])}",
                            flush=True,
                        )
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_result(
        "bench_step_overhead",
        {
            "device": args.device,
            "method": args.method,
            "repeat": args.repeat,
            "codes": list(codes),
            "commands": results,
        },
    )


if __name__ == "__main__":
    main()
