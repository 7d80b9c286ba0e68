"""scripts/stack/ under a real supervisord: the ML API, killed with SIGKILL, is back
and healthy by itself within seconds, and `status` says so. On a free port and its
own run directory, so it runs beside a stack that `make up` started."""

import os
import signal
import socket
import sys
import time

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from harness.processes import free_port, poll_until
from scripts import stack

pytestmark = pytest.mark.integration


@pytest.fixture
def ml_api(tmp_path, monkeypatch):
    """A stack of one supervised ML API; `down` at the end."""
    port = free_port()
    monkeypatch.setattr(stack.paths, "RUN", tmp_path)
    monkeypatch.setattr(stack.paths, "SUPERVISORD_CONF", tmp_path / "supervisord.conf")
    monkeypatch.setattr(stack.paths, "SOCKET", tmp_path / "supervisor.sock")
    service = stack.Service("ml-api", [sys.executable, "-m", "mlotel_model_server", "--host", "127.0.0.1", "--port", str(port)],
                            f"http://127.0.0.1:{port}/health", port,
                            env={"OTEL_SDK_DISABLED": "true", "ML_API_NOTE": "100% supervised"})
    monkeypatch.setattr(stack.catalogue, "services", lambda *args, **kwargs: [service])
    yield service
    stack.down()
    assert not stack.supervisor_running()


def test_the_config_is_what_supervisord_reads(ml_api, tmp_path):
    (tmp_path / "logs").mkdir()
    config = tmp_path / "supervisord.conf"
    config.write_text(stack.supervisord_config([ml_api]))
    options = ServerOptions()
    options.realize(args=["-c", str(config)])
    (program,) = options.process_group_configs[0].process_configs
    assert program.name == "ml-api" and program.autorestart is RestartUnconditionally and program.stopasgroup
    assert program.environment == {"OTEL_SDK_DISABLED": "true", "ML_API_NOTE": "100% supervised"}
    assert program.stdout_logfile == str(tmp_path / "logs" / "ml-api.log")


def test_a_killed_ml_api_comes_back_healthy_by_itself(ml_api, capsys):
    assert [s.name for s in stack.up()] == ["ml-api"]
    assert stack.up() == []  # idempotent: nothing to start
    pid = stack.supervisor().supervisor.getProcessInfo("ml-api")["pid"]

    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    poll_until(lambda: not ml_api.healthy(), timeout=5)
    poll_until(ml_api.healthy, timeout=15)
    recovered = time.monotonic() - killed
    assert stack.supervisor().supervisor.getProcessInfo("ml-api")["pid"] != pid

    capsys.readouterr()
    stack.status()
    line = capsys.readouterr().out.splitlines()[0].split()
    assert line[:3] == ["ml-api", "RUNNING", "healthy"]
    with capsys.disabled():
        print(f"\nthe ML API was back and healthy {recovered:.1f} s after kill -9")


def test_up_restarts_a_running_but_unhealthy_service(ml_api):
    stack.up()
    pid = stack.supervisor().supervisor.getProcessInfo("ml-api")["pid"]
    os.kill(pid, signal.SIGSTOP)  # alive for supervisord, deaf for its health check
    try:
        assert [s.name for s in stack.up()] == ["ml-api"]
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert ml_api.healthy()
    assert stack.supervisor().supervisor.getProcessInfo("ml-api")["pid"] != pid


def test_an_up_refused_for_a_taken_port_leaves_no_supervisord_behind(ml_api):
    with socket.create_server(("127.0.0.1", ml_api.port)):
        with pytest.raises(SystemExit, match=f"port {ml_api.port} is taken"):
            stack.up()
    assert not stack.supervisor_running()
