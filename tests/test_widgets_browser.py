"""The notebook widgets in a real JupyterLab, clicked in a real browser.

A JupyterLab server starts on a free port with a temporary root folder and no token; a notebook
opens in headless Chromium (Playwright, driving Debian's ``chromium``); its cells run as a
learner runs them (click in the cell, Shift+Enter). The test then presses the widget's buttons,
reads the page, and asks the kernel what Python sees. Nothing is timed: every wait is for
something to appear, with generous limits for a busy machine.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import IN_CI, require_module

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
# As root in a closed network: no sandbox, and nothing that tries to reach other hosts.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SERVER_START_SECONDS = 180
WAIT_MS = 120_000  # for anything the kernel or the page must do
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show


def _require_chromium() -> str:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path is None:
        if IN_CI:
            pytest.fail("Chromium is not installed: run scripts/setup.sh")
        pytest.skip("Chromium is not installed")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


class Lab:
    """A running JupyterLab: its address, root folder and process."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root, self.log = root, log
        settings = root.parent / "settings"
        # no news, no update check: the network here is closed, and a toast could cover the page
        plugin = settings / "@jupyterlab" / "apputils-extension"
        plugin.mkdir(parents=True)
        (plugin / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
        )
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(root.parent / "config"),
            "JUPYTER_RUNTIME_DIR": str(root.parent / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(root.parent / "workspaces"),
        }
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            f"--port={self.port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
            "--ServerApp.disable_check_xsrf=True",  # so that stop() may delete the kernels
        ]  # fmt: skip
        with open(log, "wb") as out:
            # its own session, so that at the end nothing of it can outlive the test
            self.process = subprocess.Popen(
                command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"JupyterLab exited at start:\n{self.log.read_text()[-3000:]}")
            try:
                _get(f"{self.url}/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"JupyterLab did not answer:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        try:  # the kernels first: they run in sessions of their own
            if self.process.poll() is None:
                for kernel in _get(f"{self.url}/api/kernels"):
                    _get(f"{self.url}/api/kernels/{kernel['id']}", method="DELETE")
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_module("jupyterlab")
    require_module("anywidget")
    folder = tmp_path_factory.mktemp("jupyterlab")
    root = folder / "notebooks"
    root.mkdir()
    server = Lab(root, folder / "server.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _require_chromium()
    sync_api = require_module("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@contextmanager
def _shown_on_failure(page: Any, path: Path) -> Iterator[None]:
    """On a failure, keep a screenshot of the page (and copy it where
    ``MICROGRADNET_SCREENSHOTS`` says) so one can see what the browser saw."""
    try:
        yield
    except BaseException:
        page.screenshot(path=str(path))
        if os.environ.get("MICROGRADNET_SCREENSHOTS"):
            shutil.copy(path, Path(os.environ["MICROGRADNET_SCREENSHOTS"]) / path.name)
        raise


def _notebook(path: Path, cells: list[str]) -> None:
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {},
             "outputs": [], "source": source}
            for i, source in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip
    path.write_text(json.dumps(nb), encoding="utf-8")


def _open(browser: Any, lab: Lab, name: str, cells: list[str]) -> Any:
    """A page showing the notebook ``name`` made of ``cells``, its kernel started and idle."""
    _notebook(lab.root / f"{name}.ipynb", cells)
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{lab.url}/lab/tree/{name}.ipynb?reset")  # ?reset: no tab of an earlier test
    page.wait_for_selector(f"{NOTEBOOK} .jp-Cell .jp-InputArea-editor")
    page.wait_for_function(
        "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')"
    )
    return page


def _run(page: Any, index: int) -> str:
    """Run cell ``index`` (in place) and return the text of its new output."""
    cell = page.locator(f"{NOTEBOOK} .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt").inner_text()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        """([notebook, index, before]) => {
            const cell = document.querySelectorAll(`${notebook} .jp-Cell`)[index];
            const text = cell.querySelector('.jp-InputPrompt').innerText;
            return text !== before && /\\d/.test(text);
        }""",
        arg=[NOTEBOOK, index, prompt],
    )
    return str(cell.locator(".jp-OutputArea").inner_text())


def _printed(output: str) -> Any:
    """The JSON a cell printed after ``STATE``."""
    assert "STATE" in output and "Traceback" not in output, f"the cell failed:\n{output}"
    return json.loads(output.split("STATE", 1)[1].strip().splitlines()[0])


def _value(page: Any, testid: str) -> float:
    return float(page.get_attribute(f"[data-testid={testid}]", "data-value"))


def _wait_for(page: Any, script: str, arg: Any = None) -> None:
    page.wait_for_function(script, arg=arg)


PLAYGROUND_CELLS = [
    'import json\nfrom microgradnet import viz\npg = viz.playground("moons", hidden=[8, 8])\npg',
    # what Python sees, as JSON; the independent loss is the engine's own, from the model
    "import json\n"
    "from microgradnet.losses import binary_cross_entropy_with_logits as bce\n"
    "was_running = pg.running\n"
    "pg.pause()\n"
    "w = pg.model.layers[0].neurons[0].w[0]\n"
    'print("STATE", json.dumps({"running": was_running, "epoch": pg.epoch,\n'
    '    "train": bce(pg.model.map(pg.X_train), pg.y_train).data,\n'
    '    "test": bce(pg.model.map(pg.X_test), pg.y_test).data,\n'
    '    "w": w.data, "g": w.grad, "activation": pg.model.layers[0].activation,\n'
    '    "w125": pg.model.layers[1].neurons[2].w[5].data}))',
    'print("STATE", json.dumps({"running": pg.running, "epoch": pg.epoch}))',
]


def test_playground_trains_live_in_jupyterlab(lab: Lab, browser: Any, tmp_path: Path) -> None:
    page = _open(browser, lab, "playground", PLAYGROUND_CELLS)
    with _shown_on_failure(page, tmp_path / "playground-failure.png"):
        _run(page, 0)
        page.wait_for_selector("[data-testid=epoch]")
        _wait_for(page, "() => document.querySelector('[data-testid=epoch]').innerText === '0'")
        first_test_loss = _value(page, "test-loss")

        page.click("[data-testid=play]")
        _wait_for(
            page, "() => Number(document.querySelector('[data-testid=epoch]').innerText) >= 20"
        )
        _wait_for(page, "() => Number(document.querySelector('[data-testid=loss-chart]')"
                        ".dataset.points) >= 10")  # fmt: skip
        _wait_for(
            page,
            "(first) => Number(document.querySelector('[data-testid=test-loss]').dataset.value)"
            " < 0.8 * first",
            first_test_loss,
        )
        # the kernel answers while it trains
        busy = _printed(_run(page, 2))
        assert busy["running"] is True and busy["epoch"] >= 20

        page.click("[data-testid=play]")  # pause
        _wait_for(
            page, "() => document.querySelector('[data-testid=play]').innerText.includes('play')"
        )
        state = _printed(_run(page, 1))
        assert state["running"] is False  # the page's button paused it, before pause() was called
        assert state["activation"] == "tanh"
        # the page's last frame is the model Python holds
        _wait_for(
            page,
            "(epoch) => document.querySelector('[data-testid=epoch]').innerText === String(epoch)",
            state["epoch"],
        )
        assert _value(page, "train-loss") == pytest.approx(state["train"], rel=1e-9)
        assert _value(page, "test-loss") == pytest.approx(state["test"], rel=1e-9)
        assert _value(page, "test-loss") < first_test_loss
        page.hover("[data-testid=edge-0-0-0]")
        tip = page.locator("[data-testid=tooltip]")
        tip.wait_for(state="visible")
        assert "weight" in tip.inner_text() and "gradient" in tip.inner_text()
        assert float(tip.get_attribute("data-weight")) == state["w"]
        assert float(tip.get_attribute("data-grad")) == state["g"]
        # from neuron 5 of the first hidden layer to neuron 2 of the second
        page.dispatch_event(
            "[data-testid=edge-1-2-5]", "mousemove", {"clientX": 600, "clientY": 400}
        )
        assert float(tip.get_attribute("data-weight")) == state["w125"]
        shot = tmp_path / "playground.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 20_000
        if os.environ.get("MICROGRADNET_SCREENSHOTS"):
            shutil.copy(shot, Path(os.environ["MICROGRADNET_SCREENSHOTS"]) / shot.name)

        widths = page.eval_on_selector_all(
            ".mgp-edge", "lines => lines.map(l => l.getAttribute('stroke-width'))"
        )
        page.click("[data-testid=show-grads]")
        _wait_for(page, "() => document.querySelector('[data-testid=show-grads]')"
                        ".classList.contains('mgp-on')")  # fmt: skip
        _wait_for(
            page,
            "(before) => [...document.querySelectorAll('.mgp-edge')]"
            ".some((l, k) => l.getAttribute('stroke-width') !== before[k])",
            widths,
        )

        page.select_option("[data-testid=activation]", "relu")
        _wait_for(page, "() => document.querySelector('[data-testid=epoch]').innerText === '0'")
        assert _printed(_run(page, 1))["activation"] == "relu"
        page.click("[data-testid=step]")
        _wait_for(page, "() => document.querySelector('[data-testid=epoch]').innerText === '1'")
        page.click("[data-testid=reset]")
        _wait_for(page, "() => document.querySelector('[data-testid=epoch]').innerText === '0'")
        state = _printed(_run(page, 1))
        assert state["epoch"] == 0 and state["activation"] == "relu"
        assert _value(page, "train-loss") == pytest.approx(state["train"], rel=1e-9)
    page.close()


EXPLORE_CELLS = [
    'from microgradnet import viz\nex = viz.explore("tanh(a*b + c)", a=2, b=-3, c=1)\nex',
    "import json\n"
    'print("STATE", json.dumps({"values": ex.values, '
    '"grads": {k: v.grad for k, v in ex.leaves.items()}, "out": ex.root.data}))',
]


def test_explore_redraws_as_a_slider_moves(lab: Lab, browser: Any, tmp_path: Path) -> None:
    page = _open(browser, lab, "explore", EXPLORE_CELLS)
    with _shown_on_failure(page, tmp_path / "explore-failure.png"):
        _run(page, 0)
        page.wait_for_selector("[data-testid=grad-a]")
        page.wait_for_selector("[data-testid=graph] svg")
        # d out / d a = (1 - tanh(ab + c)²) b
        assert _value(page, "grad-a") == pytest.approx((1 - math.tanh(-5.0) ** 2) * -3.0, rel=1e-9)
        revision = page.get_attribute(".mgx", "data-revision")

        page.locator("[data-testid=slider-b]").fill("0.5")  # as dragging the slider to 0.5 does
        _wait_for(
            page,
            "(before) => Number(document.querySelector('[data-testid=value-b]').value) === 0.5 &&"
            " document.querySelector('.mgx').dataset.revision !== before",
            revision,
        )
        # d out / d a was negative (b = -3); with b = 0.5 it is positive
        _wait_for(page, "() => Number(document.querySelector('[data-testid=grad-a]').dataset.value)"
                        " > 0")  # fmt: skip
        expected = (1 - math.tanh(2.0 * 0.5 + 1.0) ** 2) * 0.5
        assert _value(page, "grad-a") == pytest.approx(expected, rel=1e-9)
        assert _value(page, "output") == pytest.approx(math.tanh(2.0), rel=1e-12)
        assert "data 0.5" in page.inner_text("[data-testid=graph]")
        state = _printed(_run(page, 1))
        assert state["values"]["b"] == 0.5 and state["grads"]["a"] == _value(page, "grad-a")
    page.close()
