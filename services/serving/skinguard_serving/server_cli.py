"""``skinguard-model-server``: the local stand-in for ``tensorflow_model_server``.

Flags take tensorflow_model_server's names (``--model_config_file`` or ``--model-config-file``);
each defaults to its ``SKINGUARD_*`` setting (settings.py). SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from skinguard_runtime.logging import configure_logging

from .settings import ServingSettings

log = logging.getLogger(__name__)

# flag -> (settings field, type, help)
_FLAGS: dict[str, tuple[str, type, str]] = {
    "port": ("serving_grpc_port", int, "gRPC port (0 picks a free one)"),
    "host": ("serving_host", str, "address to listen on"),
    "metrics-port": ("serving_metrics_port", int, "Prometheus metrics HTTP port (0: off)"),
    "model-config-file": ("model_config_file", str, "text-format ModelServerConfig listing the models"),
    "model-config-file-poll-wait-seconds": ("model_config_file_poll_wait_seconds", float, "re-read it this often"),
    "model-name": ("model_name", str, "the one model to serve without a config file"),
    "model-base-path": ("model_base_path", str, "its directory of numbered versions"),
    "file-system-poll-wait-seconds": ("file_system_poll_wait_seconds", float, "look for new versions this often"),
    "enable-batching": ("enable_batching", bool, "batch concurrent Predict requests"),
    "batching-parameters-file": ("batching_parameters_file", str, "text-format BatchingParameters"),
    "enable-model-warmup": ("enable_model_warmup", bool, "replay assets.extra/tf_serving_warmup_requests"),
    "grpc-max-threads": ("serving_grpc_max_threads", int, "threads handling gRPC calls"),
    "grpc-max-message-bytes": ("serving_grpc_max_message_bytes", int, "largest request or response"),
    "tensorflow-intra-op-parallelism": ("tensorflow_intra_op_parallelism", int, "TensorFlow intra-op threads"),
    "tensorflow-inter-op-parallelism": ("tensorflow_inter_op_parallelism", int, "TensorFlow inter-op threads"),
}


def _boolean(text: str) -> bool:
    if text.lower() in {"true", "1", "yes"}:
        return True
    if text.lower() in {"false", "0", "no"}:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def parse_settings(argv: list[str] | None = None) -> ServingSettings:
    parser = argparse.ArgumentParser(prog="skinguard-model-server", description=__doc__.splitlines()[0])
    for flag, (field, kind, help_text) in _FLAGS.items():
        names = [f"--{flag}", f"--{flag.replace('-', '_')}"]
        if kind is bool:  # --enable_batching, --enable_batching=false
            parser.add_argument(*names, dest=field, type=_boolean, nargs="?", const=True, help=help_text)
        else:
            parser.add_argument(*names, dest=field, type=kind, help=help_text)
    overrides = {field: value for field, value in vars(parser.parse_args(argv)).items() if value is not None}
    return ServingSettings(**overrides)


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    # TensorFlow takes seconds to import: not before the flags are known to be fine.
    from .saved_model import configure_tensorflow
    from .server import ModelServer

    configure_logging(settings.log_level, json_lines=settings.log_json)
    configure_tensorflow(settings.tensorflow_intra_op_parallelism, settings.tensorflow_inter_op_parallelism)
    stop_requested = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    try:
        server = ModelServer(settings)
        server.start()
    except (ValueError, OSError) as error:  # the models config or batching parameters
        log.error("cannot start: %s", error)
        return 1
    stop_requested.wait()
    log.info("stopping")
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
