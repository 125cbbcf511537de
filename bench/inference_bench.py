"""Inference benchmark: model_code/inference.py against a pandas + DMatrix baseline handler.

Prints one table (and writes bench/results/inference_bench.json): import time of the handler in
a fresh process, model_fn time, in-process latency for 1 and 1000 rows (CSV in, JSON out), HTTP
latency and throughput over loopback at concurrency 1 and 8 through the local endpoint (the same
Transformer and waitress stack for both handlers), and the time from spawning the local endpoint
to its first prediction.

The baseline is the handler most tutorials write: `pandas.read_csv` to decode, `xgb.DMatrix` and
`Booster.predict` to score; it gets one thread like ours (the default OpenMP threads cost it
another ~10 ms per request in a tight loop on 2 busy cores), so the comparison isolates decoding
and DMatrix. pandas is not a project dependency. The baseline runs when pandas
is importable, either from the venv or from bench/results/baseline-site (or the directory in
MLOPS_BENCH_PANDAS_PATH), e.g. after
    .venv/bin/pip install --no-deps --target bench/results/baseline-site pandas==3.1.1
Keeping pandas out of the venv matters: xgboost imports pandas at import time whenever it can.

Usage: .venv/bin/python bench/inference_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_PANDAS_SITE = RESULTS / "baseline-site"
TARGETS = {
    "import+load s": 0.7,
    "1 row in-process p99 ms": 1.0,
    "HTTP 1 row p50 ms": 1.5,
    "HTTP 1 row p99 ms": 10.0,
    "spawn to first prediction s": 1.0,
}

BASELINE_HANDLER = '''"""Baseline handler: pandas decoding and DMatrix prediction, as in most tutorials."""
import io
import json
import os
import sys

if {pandas_site!r}:
    sys.path.insert(0, {pandas_site!r})
import pandas as pd
import xgboost as xgb


def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "model.ubj"))
    booster.set_param({{"nthread": 1}})  # one thread like ours: the comparison isolates decoding and DMatrix
    return booster


def input_fn(body, content_type):
    if content_type == "text/csv":
        return pd.read_csv(io.StringIO(body), header=None)
    return pd.DataFrame(json.loads(body)["instances"])


def predict_fn(frame, model):
    return model.predict(xgb.DMatrix(frame, nthread=1), validate_features=False)


def output_fn(prediction, accept):
    items = [{{"score": float(s), "label": int(s >= 0.5)}} for s in prediction]
    return json.dumps({{"predictions": items}}), "application/json"
'''


def percentiles_ms(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return pick(0.50) * 1000, pick(0.99) * 1000


# --- in a fresh process: import, model_fn and in-process latency --------------------------------


def measure_handler(code_dir: str, model_dir: str, bodies_path: str, loops: int, pandas_site: str) -> dict[str, Any]:
    """Runs in a fresh interpreter: nothing heavy is imported before the handler."""
    if pandas_site:
        sys.path.insert(0, pandas_site)
    sys.path.insert(0, code_dir)
    started = time.perf_counter()
    handler = importlib.import_module("inference")
    imported = time.perf_counter()
    model = handler.model_fn(model_dir)
    loaded = time.perf_counter()
    result: dict[str, Any] = {"import_s": imported - started, "model_fn_s": loaded - imported}
    if loops:
        bodies = json.loads(Path(bodies_path).read_text())
        for name, body, count in (("1", bodies["one"], loops), ("1000", bodies["thousand"], max(20, loops // 20))):
            for _ in range(50):
                handler.output_fn(handler.predict_fn(handler.input_fn(body, "text/csv"), model), "application/json")
            samples = []
            for _ in range(count):
                tick = time.perf_counter()
                handler.output_fn(handler.predict_fn(handler.input_fn(body, "text/csv"), model), "application/json")
                samples.append(time.perf_counter() - tick)
            result[f"rows_{name}"] = percentiles_ms(samples)
    return result


def run_measurement(code_dir: Path, model_dir: Path, bodies: Path, loops: int, env: dict[str, str], site: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, __file__, "--measure-handler", str(code_dir), str(model_dir), str(bodies)]
        command += [str(loops), site, out.name]
        # stdout is the capture stream when capture is on: discard it like a log shipper would.
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        return json.loads(Path(out.name).read_text())


def in_process(code_dir: Path, model_dir: Path, bodies: Path, loops: int, capture: str, site: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MLOPS_CAPTURE_PERCENT"] = capture
    env["MLOPS_MODEL_ID"] = "bench"
    full = run_measurement(code_dir, model_dir, bodies, loops, env, site)
    cold = [run_measurement(code_dir, model_dir, bodies, 0, env, site) for _ in range(4)] + [full]
    full["import_s"] = statistics.median(m["import_s"] for m in cold)
    full["model_fn_s"] = statistics.median(m["model_fn_s"] for m in cold)
    return full


# --- over HTTP through the local endpoint --------------------------------------------------------


def http_load(port: int, body: bytes, concurrency: int, per_client: int) -> dict[str, float]:
    """Bounded loop of keep-alive POSTs from `concurrency` threads; latency percentiles and req/s.

    Runs in the load process (see `load_in_subprocess`), so the client never competes for the
    GIL with the endpoint's capture reader in the benchmark's own process.
    """
    import http.client

    samples: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local = []
        for index in range(per_client + 20):
            tick = time.perf_counter()
            connection.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(str(response.status))
            if index >= 20:  # the first requests warm the connection up
                local.append(time.perf_counter() - tick)
        connection.close()
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"HTTP errors during the load: {sorted(set(errors))}")
    p50, p99 = percentiles_ms(samples)
    return {"p50_ms": p50, "p99_ms": p99, "rps": concurrency * (per_client + 20) / elapsed}


def load_in_subprocess(port: int, body: str, concurrency: int, per_client: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        body_file, out_file = Path(scratch) / "body", Path(scratch) / "out.json"
        body_file.write_text(body)
        command = [sys.executable, __file__, "--http-load", str(port), str(body_file), str(concurrency)]
        subprocess.run([*command, str(per_client), str(out_file)], check=True)
        return json.loads(out_file.read_text())


def over_http(model_tar: Path, code_dir: Path, bodies: dict[str, str], loops: int, capture_dir: Path | None) -> dict:
    from local.serving import LocalEndpoint

    results: dict[str, Any] = {}
    with LocalEndpoint(model_tar, code_dir=code_dir, capture_dir=capture_dir, log=lambda line: None) as endpoint:
        results["c1"] = load_in_subprocess(endpoint.port, bodies["one"], 1, loops)
        results["c8"] = load_in_subprocess(endpoint.port, bodies["one"], 8, loops // 8)
        results["c1_1000"] = load_in_subprocess(endpoint.port, bodies["thousand"], 1, max(20, loops // 20))
        if capture_dir is not None:
            results["captured_rows"] = endpoint.flush_capture()
    return results


def spawn_to_first_prediction(model_tar: Path, code_dir: Path, body: str, repeats: int) -> float:
    import http.client

    from local.serving import LocalEndpoint

    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        endpoint = LocalEndpoint(model_tar, code_dir=code_dir, log=lambda line: None).start()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
            connection.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
            assert connection.getresponse().status == 200
            durations.append(time.perf_counter() - started)
            connection.close()
        finally:
            endpoint.stop()
    return statistics.median(durations)


# --- orchestration --------------------------------------------------------------------------------


def find_pandas() -> tuple[str | None, str]:
    """(pandas version or None, the directory to add to sys.path, '' when pandas is in the venv)."""
    probe = "import pandas; print(pandas.__version__)"
    site = os.environ.get("MLOPS_BENCH_PANDAS_PATH", str(DEFAULT_PANDAS_SITE))
    for extra in ("", site):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if extra:
            env["PYTHONPATH"] = extra
        found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
        if found.returncode == 0:
            return found.stdout.strip(), extra
    return None, site


def prepare(workdir: Path) -> tuple[Path, Path, Path, dict[str, str]]:
    import tarfile

    from dataset import format_rows, generate, write_dataset
    from local.training import run_training
    from mlops_stacks.settings import DEFAULT_HYPERPARAMETERS

    write_dataset(workdir / "data", rows=20000, seed=42)
    result = run_training(workdir / "data", workdir / "model", DEFAULT_HYPERPARAMETERS)
    model_dir = workdir / "extracted"
    with tarfile.open(result.model_tar) as archive:
        archive.extractall(model_dir, filter="data")
    rows = format_rows(generate(1000, seed=99).features)
    bodies = {"one": rows[0] + "\n", "thousand": "\n".join(rows) + "\n"}
    bodies_path = workdir / "bodies.json"
    bodies_path.write_text(json.dumps(bodies))
    return result.model_tar, model_dir, bodies_path, bodies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short loops, for a smoke run")
    args = parser.parse_args()
    loops = 300 if args.quick else 2000
    spawns = 1 if args.quick else 3
    pandas_version, pandas_site = find_pandas()

    with tempfile.TemporaryDirectory(prefix="inference-bench-") as scratch:
        workdir = Path(scratch)
        model_tar, model_dir, bodies_path, bodies = prepare(workdir)
        handlers = {"ours": ROOT / "model_code"}
        if pandas_version:
            baseline_dir = workdir / "baseline"
            baseline_dir.mkdir()
            (baseline_dir / "inference.py").write_text(BASELINE_HANDLER.format(pandas_site=pandas_site))
            handlers["baseline"] = baseline_dir
        results: dict[str, dict[str, Any]] = {}
        for name, code_dir in handlers.items():
            site = pandas_site if name == "baseline" else ""
            spawn_s = spawn_to_first_prediction(model_tar, code_dir, bodies["one"], spawns)
            variants = [(name, "0", None)]
            if name == "ours":
                variants = [("ours", "100", workdir / "capture"), ("ours, capture off", "0", None)]
            for variant, capture, capture_dir in variants:
                results[variant] = {
                    "in_process": in_process(code_dir, model_dir, bodies_path, loops, capture, site),
                    "http": over_http(model_tar, code_dir, bodies, loops, capture_dir),
                    "spawn_s": spawn_s,
                }

    report(results, pandas_version)
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"pandas": pandas_version, "load_average": os.getloadavg(), "results": results}
    (RESULTS / "inference_bench.json").write_text(json.dumps(payload, indent=2) + "\n")
    return 0


def report(results: dict[str, dict[str, Any]], pandas_version: str | None) -> None:
    def row(result: dict[str, Any]) -> dict[str, float]:
        measured, http = result["in_process"], result["http"]
        return {
            "import s": measured["import_s"],
            "model_fn s": measured["model_fn_s"],
            "import+load s": measured["import_s"] + measured["model_fn_s"],
            "1 row in-process p50 ms": measured["rows_1"][0],
            "1 row in-process p99 ms": measured["rows_1"][1],
            "1000 rows in-process p50 ms": measured["rows_1000"][0],
            "1000 rows in-process p99 ms": measured["rows_1000"][1],
            "HTTP 1 row p50 ms": http["c1"]["p50_ms"],
            "HTTP 1 row p99 ms": http["c1"]["p99_ms"],
            "HTTP 1 row req/s (c=1)": http["c1"]["rps"],
            "HTTP 1 row p50 ms (c=8)": http["c8"]["p50_ms"],
            "HTTP 1 row p99 ms (c=8)": http["c8"]["p99_ms"],
            "HTTP 1 row req/s (c=8)": http["c8"]["rps"],
            "HTTP 1000 rows p50 ms": http["c1_1000"]["p50_ms"],
            "HTTP 1000 rows p99 ms": http["c1_1000"]["p99_ms"],
            "spawn to first prediction s": result["spawn_s"],
        }

    rows = {name: row(result) for name, result in results.items()}
    ours, quiet = rows["ours"], rows["ours, capture off"]
    baseline = rows.get("baseline")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}")
    print("ours: model_code/inference.py; capture at 100% (over HTTP: capture files written) and off")
    if baseline is None:
        print("baseline: SKIPPED, pandas is not importable; see this file's docstring to install it")
    else:
        print(f"baseline: pandas {pandas_version} read_csv + xgb.DMatrix + Booster.predict, 1 thread, no capture")
    print("load clients run in their own process; ratio = baseline / ours with capture off (>1: ours better;")
    print("for req/s <1: ours better); targets apply to ours with capture on")
    header = f"{'metric':<30}{'ours':>10}{'ours-nocap':>11}{'baseline':>10}{'ratio':>8}  target"
    print(header)
    print("-" * len(header))
    for metric, value in ours.items():
        other = baseline[metric] if baseline else None
        ratio = f"{other / quiet[metric]:7.1f}x" if other and quiet[metric] else " " * 8
        target = TARGETS.get(metric)
        verdict = "" if target is None else f"<= {target:g} {'ok' if value <= target else 'MISSED'}"
        shown_other = f"{other:10.3f}" if other is not None else f"{'-':>10}"
        print(f"{metric:<30}{value:10.3f}{quiet[metric]:11.3f}{shown_other}{ratio}  {verdict}")
    captured = results["ours"]["http"].get("captured_rows")
    print(f"capture rows written during the HTTP runs of ours: {captured}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--http-load":
        port_text, body_path, clients, per_client_text, out_path = sys.argv[2:7]
        load = http_load(int(port_text), Path(body_path).read_bytes(), int(clients), int(per_client_text))
        Path(out_path).write_text(json.dumps(load))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--measure-handler":
        code, model, bodies_file, loop_count, site, out_path = sys.argv[2:8]
        Path(out_path).write_text(json.dumps(measure_handler(code, model, bodies_file, int(loop_count), site)))
        sys.exit(0)
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
