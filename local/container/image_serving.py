"""The XGBoost 3.0-5 image's serving entry point, for the local mode (runs in .venv-container, Python 3.10).

The image's `sagemaker_xgboost_container` package is not on PyPI, so this module mirrors the few
lines of it that a single-model endpoint runs, and calls `sagemaker_containers` (which is on PyPI)
for everything else:

- `serve()` mirrors `serving.serving_entrypoint` and `sagemaker_containers._server.start`: install
  the sourcedir with the toolkit's own `modules.import_module`, then start gunicorn with the
  toolkit's flags (gevent worker class, SAGEMAKER_MODEL_SERVER_WORKERS workers, the model server
  timeout). In the image gunicorn listens on a unix socket behind nginx; here it listens on a unix
  socket in the endpoint's own directory, and the local front end (`local.runtime_front`) takes
  nginx's place.
- `main` mirrors `serving.main`: on the first request it imports SAGEMAKER_PROGRAM's module, wraps
  it in the toolkit's `Transformer` and serves it with the toolkit's `Worker` (a Flask app).
- `_user_module_transformer` mirrors `serving._user_module_transformer`.

The image's default input_fn decodes with its own encoders (and mlio), which are not on PyPI: a
module that relies on it is refused at start with a message saying so. Algorithm mode (no
SAGEMAKER_PROGRAM) is not mirrored.

Not in the image: the lifeline. The local endpoint passes the read end of a pipe whose write end
only it holds (MLOPS_LIFELINE_FD); when it dies, even by SIGKILL, the read returns and this process
stops gunicorn and ends its whole process group, so nothing outlives `mlops serve`, at whatever
point of the start it was killed. (The front end then removes the endpoint's directory.)
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from sagemaker_containers.beta.framework import encoders, env, modules, transformer, worker

LIFELINE_ENV = "MLOPS_LIFELINE_FD"
SOCKET_ENV = "MLOPS_CONTAINER_SOCKET"
STOP_GRACE_S = 10.0


class UserError(Exception):
    """The user module cannot be served (mirrors sagemaker_algorithm_toolkit.exceptions.UserError)."""


def set_default_serving_env_if_unspecified() -> None:
    """Mirrors serving.set_default_serving_env_if_unspecified: one OpenMP thread per process by default."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def default_predict_fn(input_data: Any, model: Any) -> Any:
    """Mirrors serving.default_predict_fn."""
    return model.predict(input_data, validate_features=False)


def default_output_fn(prediction: Any, accept: str) -> worker.Response:
    """Mirrors serving.default_output_fn, with the toolkit's own encoders."""
    return worker.Response(encoders.encode(prediction, accept), mimetype=accept)


def _user_module_transformer(user_module: ModuleType) -> transformer.Transformer:
    """Mirrors serving._user_module_transformer: transform_fn, or input/predict/output_fn, never both."""
    model_fn = getattr(user_module, "model_fn", transformer.default_model_fn)
    input_fn = getattr(user_module, "input_fn", None)
    predict_fn = getattr(user_module, "predict_fn", None)
    output_fn = getattr(user_module, "output_fn", None)
    transform_fn = getattr(user_module, "transform_fn", None)

    if transform_fn and (input_fn or predict_fn or output_fn):
        raise UserError("Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn")

    if transform_fn is not None:
        return transformer.Transformer(model_fn=model_fn, transform_fn=transform_fn)
    if input_fn is None:
        raise UserError(
            "the module has no input_fn: the image's default one decodes with sagemaker_xgboost_container's "
            "encoders, which are not on PyPI, so the local mode cannot serve it; define input_fn or transform_fn"
        )
    return transformer.Transformer(
        model_fn=model_fn,
        input_fn=input_fn,
        predict_fn=predict_fn or default_predict_fn,
        output_fn=output_fn or default_output_fn,
    )


app: worker.Worker | None = None


def main(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Mirrors serving.main: build the toolkit's Worker around the user module on the first request."""
    global app
    if app is None:
        serving_env = env.ServingEnv()
        if serving_env.module_name is None:
            raise UserError("SAGEMAKER_PROGRAM is not set: algorithm mode is not part of the local mode")
        user_module = importlib.import_module(serving_env.module_name)
        user_module_transformer = _user_module_transformer(user_module)
        user_module_transformer.initialize()
        app = worker.Worker(transform_fn=user_module_transformer.transform, module_name=serving_env.module_name)
    return app(environ, start_response)


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGTERM when this process dies, however it dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


_gunicorn: subprocess.Popen[bytes] | None = None
_parent_gone = threading.Event()


def _end_everything() -> None:
    """End this process's whole group, this process included."""
    # This process leads the container's process group: whatever is in it (gunicorn's worker, a pip
    # still installing the sourcedir) ends with it.
    os.killpg(0, signal.SIGKILL)


def _watch_lifeline() -> None:
    """Once the pipe from the local endpoint closes (its process is gone), stop gunicorn, then everything."""
    fd = int(os.environ[LIFELINE_ENV])
    while os.read(fd, 1):
        pass
    _parent_gone.set()
    gunicorn = _gunicorn
    if gunicorn is not None:
        gunicorn.terminate()  # serve() sees it exit and ends everything; this thread only if it takes too long
        time.sleep(STOP_GRACE_S)
    _end_everything()


def serve() -> int:
    """Mirrors serving.serving_entrypoint and sagemaker_containers._server.start, without nginx."""
    global _gunicorn
    if LIFELINE_ENV in os.environ:
        threading.Thread(target=_watch_lifeline, daemon=True).start()
    set_default_serving_env_if_unspecified()
    serving_env = env.ServingEnv()
    # _server.start: "Install user module before starting GUnicorn".
    if serving_env.module_name:
        modules.import_module(serving_env.module_dir, serving_env.module_name)
    pythonpath = ",".join([*sys.path, env.code_dir])
    _gunicorn = gunicorn = subprocess.Popen(
        [
            "gunicorn",
            "--timeout",
            str(serving_env.model_server_timeout),
            "-k",
            "gevent",
            "--pythonpath",
            pythonpath,
            "-b",
            f"unix:{os.environ[SOCKET_ENV]}",
            "--worker-connections",
            str(1000 * serving_env.model_server_workers),
            "-w",
            str(serving_env.model_server_workers),
            "--log-level",
            "info",
            "image_serving:main",
        ],
        preexec_fn=_parent_death_signal(),
    )
    # _server._add_sigterm_handler: SIGTERM stops gunicorn, whose exit ends the wait below.
    signal.signal(signal.SIGTERM, lambda signo, frame: gunicorn.terminate())
    code = gunicorn.wait()
    if _parent_gone.is_set():
        _end_everything()
    return code


if __name__ == "__main__":
    sys.exit(serve())
