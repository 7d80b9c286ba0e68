"""supervisord, through its XML-RPC API over the run directory's socket: started with the
catalogue's programs (none started by it: ``start`` starts each in order and waits for its
health, which supervisord would not), then restarting whatever exits."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import xmlrpc.client

from supervisor.xmlrpc import SupervisorTransport

from scripts.stack import paths
from scripts.stack.api_token import write_private
from scripts.stack.catalogue import Service
from scripts.stack.configs import supervisord_config


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def supervisor() -> xmlrpc.client.ServerProxy:
    """supervisord's XML-RPC API, over its socket."""
    transport = SupervisorTransport(serverurl=f"unix://{paths.SOCKET}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def supervisor_running() -> bool:
    try:
        return supervisor().supervisor.getState()["statename"] == "RUNNING"
    except (OSError, xmlrpc.client.Fault):
        return False


def process_info(name: str) -> dict | None:
    try:
        return supervisor().supervisor.getProcessInfo(name)
    except (OSError, xmlrpc.client.Fault):
        return None


def start_supervisord(stack: list[Service]) -> None:
    """Start supervisord with this stack's programs, or bring a running one up to date."""
    (paths.RUN / "logs").mkdir(parents=True, exist_ok=True)
    write_private(paths.SUPERVISORD_CONF, supervisord_config(stack))  # it holds the rules API token
    ctl = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(paths.SUPERVISORD_CONF)]
    if supervisor_running():
        # Programs whose command or environment changed are stopped here and started again by `up`.
        subprocess.run([*ctl, "update"], check=True, stdout=subprocess.DEVNULL)
        return
    subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(paths.SUPERVISORD_CONF)], cwd=paths.ROOT, check=True)
    deadline = time.monotonic() + 10
    while not supervisor_running():
        if time.monotonic() > deadline:
            raise SystemExit(f"supervisord did not start; see {paths.RUN / 'logs' / 'supervisord.log'}")
        time.sleep(0.1)


def start(service: Service, timeout: float = 90.0, grace: float = 10.0) -> bool:
    """Make one service run and answer its health check; True if this call (re)started it.

    A running service that is unhealthy gets ``grace`` seconds (supervisord may have
    just restarted it), then is restarted."""
    info = process_info(service.name)
    if info is not None and info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if service.healthy():
                return False
            time.sleep(0.2)
        print(f"unhealthy {service.name}: restarting it")
        supervisor().supervisor.stopProcess(service.name)
    elif _port_taken(service.port):
        stop(service)  # and supervisord, when nothing of the stack runs: a refused `up` leaves nothing behind
        raise SystemExit(f"{service.name}: port {service.port} is taken by another process; stop it first")
    supervisor().supervisor.startProcess(service.name, False)
    deadline = time.monotonic() + timeout
    while not service.healthy():
        state = (process_info(service.name) or {"statename": "FATAL (supervisord gone)"})["statename"]
        if state.startswith("FATAL") or state in ("EXITED", "STOPPED") or time.monotonic() > deadline:
            tail = service.log_file.read_text(errors="replace").splitlines()[-15:]
            stop(service)
            raise SystemExit(f"{service.name} did not become healthy ({state}); last log lines:\n" + "\n".join(tail))
        time.sleep(0.2)
    return True


def stop(service: Service) -> bool:
    """Stop one service; supervisord too once nothing it supervises runs. True if it ran."""
    info = process_info(service.name)
    was_running = info is not None and info["statename"] in ("RUNNING", "STARTING", "BACKOFF")
    if was_running:
        supervisor().supervisor.stopProcess(service.name)
    if supervisor_running() and not any(
            p["statename"] in ("RUNNING", "STARTING", "BACKOFF", "STOPPING")
            for p in supervisor().supervisor.getAllProcessInfo()):
        shutdown_supervisord()
    return was_running


def shutdown_supervisord() -> None:
    supervisor().supervisor.shutdown()
    deadline = time.monotonic() + 30
    while paths.SOCKET.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
