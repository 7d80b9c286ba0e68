"""``mlotel-model-server [--host H] [--port P] [--workers N]`` (or ``python -m mlotel_model_server``): serve the ML API."""

import argparse
import logging
import os
import secrets

import uvicorn

from mlotel_model_server.settings import Settings


def main() -> None:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="mlotel-model-server", description=__doc__)
    parser.add_argument("--host", default=defaults.host, help="bind address (env HOST)")
    parser.add_argument("--port", type=int, default=defaults.port, help="port (env PORT)")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="worker processes (env ML_API_WORKERS)")
    args = parser.parse_args()
    if not os.environ.get("MLOTEL_FEEDBACK_KEY"):
        # Made here, before the workers start, so that all of them sign and check prediction ids alike.
        os.environ["MLOTEL_FEEDBACK_KEY"] = secrets.token_hex(32)
        logging.getLogger("mlotel_model_server").warning(
            "MLOTEL_FEEDBACK_KEY is unset: generated one for this server's workers; other replicas refuse "
            "feedback for its predictions unless all share one key")
    uvicorn.run(
        "mlotel_model_server.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="info",
    )


if __name__ == "__main__":
    main()
