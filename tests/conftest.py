import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real Prefect server on loopback for the tests that run `ipad` steps as subprocesses
    (each step's flow run reports to it, as in `make demo`)."""
    home = tmp_path_factory.mktemp("prefect-home")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PREFECT_HOME=str(home))
    proc = subprocess.Popen([str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                             "--no-services"], stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(120):
        try:
            with urlopen(url + "/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((home / "server.log").read_text())
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("prefect server did not start")
    yield {"url": url, "home": str(home)}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
