"""Inference benchmark in the container-true stack: our handler against the toolkit's floor and a tutorial handler.

Three sourcedirs are served one after the other by the local endpoint, i.e. by the XGBoost 3.0-5
image's own serving stack (the toolkit installs the sourcedir, gunicorn's gevent worker, one worker,
sagemaker_containers' Worker and Transformer) behind the local front end:

- floor: a trivial handler (`transform_fn` answers a constant): the toolkit's and the stack's own cost;
- ours: model_code/inference.py as deployed, capture on (100 %, capture files written), and again
  with capture off (what the handler costs without the capture lines and their conversion);
- pandas: the handler most tutorials write (`pandas.read_csv`, `xgb.DMatrix`, `Booster.predict`,
  `json.dumps`), one thread like ours, in the four-function form.

For each: cold start (process start, sourcedir install included, to the first 200 on
/invocations), 1-row p50/p99 over HTTP at concurrency 1 and 8, and rows/s for 1000-row batches. The
load runs in a process of its own, so the client never competes with the endpoint's capture reader
for the GIL. The table gives ours against the floor (what the handler adds) and against pandas, as
ratios measured in the same run; bench/results/inference_bench.json keeps the figures.

Usage: .venv/bin/python bench/inference_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import http.client
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
BATCH_ROWS = 1000
WARMUP = 20  # requests per client before timing starts

FLOOR_HANDLER = '''"""Trivial handler: the same stack's cost with no work of a handler's own."""


def model_fn(model_dir):
    return None


def transform_fn(model, content, content_type, accept):
    return "0.5,0\\n", "text/csv"
'''

PANDAS_HANDLER = '''"""Tutorial handler: pandas decoding and DMatrix prediction."""
import io
import json
import os

import pandas as pd
import xgboost as xgb


def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "model.ubj"))
    booster.set_param({"nthread": 1})  # one thread like ours: the comparison isolates decoding and DMatrix
    return booster


def input_fn(body, content_type):
    if content_type == "text/csv":
        return pd.read_csv(io.StringIO(body), header=None)
    return pd.DataFrame(json.loads(body)["instances"])


def predict_fn(frame, model):
    return model.predict(xgb.DMatrix(frame, nthread=1), validate_features=False)


def output_fn(prediction, accept):
    items = [{"score": float(s), "label": int(s >= 0.5)} for s in prediction]
    return json.dumps({"predictions": items}), "application/json"
'''


def percentiles_ms(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    return tuple(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 for q in (0.50, 0.99))  # type: ignore[return-value]


# --- the load, in its own process ----------------------------------------------------------------


def http_load(port: int, body: bytes, concurrency: int, per_client: int) -> dict[str, float]:
    """`concurrency` threads each send `per_client` keep-alive POSTs; latency percentiles and requests/s."""
    samples: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency + 1)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def send() -> float:
            tick = time.perf_counter()
            connection.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(str(response.status))
            return time.perf_counter() - tick

        for _ in range(WARMUP):
            send()
        barrier.wait()
        local = [send() for _ in range(per_client)]
        connection.close()
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"HTTP errors during the load: {sorted(set(errors))}")
    p50, p99 = percentiles_ms(samples)
    return {"p50_ms": p50, "p99_ms": p99, "rps": concurrency * per_client / elapsed}


def load_in_subprocess(port: int, body: str, concurrency: int, per_client: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        body_file, out_file = Path(scratch) / "body", Path(scratch) / "out.json"
        body_file.write_text(body)
        command = [sys.executable, __file__, "--http-load", str(port), str(body_file), str(concurrency)]
        subprocess.run([*command, str(per_client), str(out_file)], check=True)
        return json.loads(out_file.read_text())


# --- one handler in the stack ------------------------------------------------------------------------


def cold_start_s(model_tar: Path, submit_dir: Path, body: str) -> float:
    """From LocalEndpoint.start() (processes, sourcedir install, imports, model_fn) to the first 200 on /invocations."""
    from local.serving import LocalEndpoint

    started = time.perf_counter()
    with LocalEndpoint(model_tar, submit_dir=submit_dir, log=lambda line: None) as endpoint:
        connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=60)
        connection.request("POST", "/invocations", body=body, headers={"Content-Type": "text/csv"})
        status = connection.getresponse().status
        elapsed = time.perf_counter() - started
        connection.close()
    if status != 200:
        raise RuntimeError(f"the first request to {submit_dir} got {status}")
    return elapsed


def measure(
    model_tar: Path, submit_dir: Path, bodies: dict[str, str], loops: int, cold_starts: int, capture_dir: Path | None
) -> dict[str, Any]:
    """Cold start (median of `cold_starts`, none when 0), then the loads on one running endpoint."""
    from local.serving import LocalEndpoint

    result: dict[str, Any] = {}
    if cold_starts:
        starts = [cold_start_s(model_tar, submit_dir, bodies["one"]) for _ in range(cold_starts)]
        result["cold_start_s"] = statistics.median(starts)
    with LocalEndpoint(model_tar, submit_dir=submit_dir, capture_dir=capture_dir, log=lambda line: None) as endpoint:
        result["c1"] = load_in_subprocess(endpoint.port, bodies["one"], 1, loops)
        result["c8"] = load_in_subprocess(endpoint.port, bodies["one"], 8, loops // 8)
        batches = max(20, loops // 20)
        result["batch"] = load_in_subprocess(endpoint.port, bodies["batch"], 1, batches)
        result["batch"]["rows_per_s"] = result["batch"]["rps"] * BATCH_ROWS
        if capture_dir is not None:
            result["captured_rows"] = endpoint.flush_capture()
    return result


# --- orchestration -----------------------------------------------------------------------------------


def prepare(workdir: Path) -> tuple[Path, dict[str, Path], dict[str, str]]:
    """A model trained on the default data and settings, the three sourcedirs, and the request bodies."""
    from dataset import format_rows, generate, write_dataset
    from local.serving import project_sourcedir
    from local.training import run_training
    from mlops_core.settings import DEFAULT_HYPERPARAMETERS

    write_dataset(workdir / "data", rows=20000, seed=42)
    model_tar = run_training(workdir / "data", workdir / "model", DEFAULT_HYPERPARAMETERS).model_tar
    handlers = {"floor": FLOOR_HANDLER, "pandas": PANDAS_HANDLER}
    sourcedirs = {"ours": project_sourcedir()}
    for name, source in handlers.items():
        (workdir / name).mkdir()
        (workdir / name / "inference.py").write_text(source)
        sourcedirs[name] = workdir / name
    rows = format_rows(generate(BATCH_ROWS, seed=99).features)
    return model_tar, sourcedirs, {"one": rows[0] + "\n", "batch": "\n".join(rows) + "\n"}


HANDLERS = ("floor", "ours", "ours, capture off", "pandas")
METRICS = (
    ("cold start s", lambda r: r["cold_start_s"]),
    ("1 row p50 ms (c=1)", lambda r: r["c1"]["p50_ms"]),
    ("1 row p99 ms (c=1)", lambda r: r["c1"]["p99_ms"]),
    ("1 row req/s (c=1)", lambda r: r["c1"]["rps"]),
    ("1 row p50 ms (c=8)", lambda r: r["c8"]["p50_ms"]),
    ("1 row p99 ms (c=8)", lambda r: r["c8"]["p99_ms"]),
    ("1 row req/s (c=8)", lambda r: r["c8"]["rps"]),
    ("1000 rows p50 ms", lambda r: r["batch"]["p50_ms"]),
    ("1000 rows p99 ms", lambda r: r["batch"]["p99_ms"]),
    ("rows/s in 1000-row batches", lambda r: r["batch"]["rows_per_s"]),
)


def report(results: dict[str, dict[str, Any]]) -> None:
    """The figures, and ours as a ratio of the floor and of pandas (for a time, >1 means slower)."""
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print("stack: XGBoost 3.0-5 image's serving (gunicorn gevent worker x1, sagemaker_containers) behind the front end")
    print("floor: constant answer; ours: model_code/inference.py, capture 100 %; pandas: read_csv + DMatrix, 1 thread")
    print("ratios of ours with capture on; in brackets with capture off")
    header = (
        f"{'metric':<28}{'floor':>10}{'ours':>10}{'ours-nocap':>11}{'pandas':>10}{'ours/floor':>18}{'ours/pandas':>18}"
    )
    print(header)
    print("-" * len(header))
    for name, value in METRICS:
        floor, ours, quiet, pandas = (value(results[h]) for h in HANDLERS)
        vs_floor = f"{ours / floor:.2f}x ({quiet / floor:.2f}x)"
        vs_pandas = f"{ours / pandas:.2f}x ({quiet / pandas:.2f}x)"
        print(f"{name:<28}{floor:10.2f}{ours:10.2f}{quiet:11.2f}{pandas:10.2f}{vs_floor:>18}{vs_pandas:>18}")
    print(f"rows captured during ours' loads: {results['ours'].get('captured_rows')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short loops and one cold start, for a smoke run")
    args = parser.parse_args()
    loops, cold_starts = (200, 1) if args.quick else (2000, 3)
    with tempfile.TemporaryDirectory(prefix="inference-bench-") as scratch:
        workdir = Path(scratch)
        model_tar, sourcedirs, bodies = prepare(workdir)
        capture = {"ours": workdir / "capture"}
        sourcedirs["ours, capture off"] = sourcedirs["ours"]
        # The cold start does not depend on capture: measured once for ours.
        starts = {name: 0 if name == "ours, capture off" else cold_starts for name in HANDLERS}
        results = {
            name: measure(model_tar, sourcedirs[name], bodies, loops, starts[name], capture.get(name))
            for name in HANDLERS
        }
        results["ours, capture off"]["cold_start_s"] = results["ours"]["cold_start_s"]
    report(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"load_average": os.getloadavg(), "loops": loops, "cold_starts": cold_starts, "results": results}
    (RESULTS / "inference_bench.json").write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--http-load":
        port_text, body_path, clients, per_client_text, out_path = sys.argv[2:7]
        load = http_load(int(port_text), Path(body_path).read_bytes(), int(clients), int(per_client_text))
        Path(out_path).write_text(json.dumps(load))
        sys.exit(0)
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
