"""``python -m ml_api [--host H] [--port P] [--workers N]``: serve the ML API."""

import argparse

import uvicorn

from ml_api.settings import Settings


def main() -> None:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m ml_api", description=__doc__)
    parser.add_argument("--host", default=defaults.host, help="bind address (env HOST)")
    parser.add_argument("--port", type=int, default=defaults.port, help="port (env PORT)")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="worker processes (env ML_API_WORKERS)")
    args = parser.parse_args()
    uvicorn.run(
        "ml_api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="info",
    )


if __name__ == "__main__":
    main()
