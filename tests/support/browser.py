"""Headless Chromium for tests, driven over the Chrome DevTools protocol (CDP).

Debian's ``chromium`` (or ``AMTSWEG_TEST_CHROMIUM``) with a fresh profile, no network
but what the page asks for, no background traffic. A minimal CDP client over one
websocket: ``call`` a method, ``evaluate`` JavaScript, wait until an expression holds,
take a screenshot.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.support.pipeline import free_port

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


class BrowserError(Exception):
    """The page or the protocol reported an error."""


def chromium_binary() -> str | None:
    """``AMTSWEG_TEST_CHROMIUM``, else ``chromium`` on the PATH."""
    return os.environ.get("AMTSWEG_TEST_CHROMIUM") or shutil.which("chromium")


class Page:
    """One tab, spoken to over its CDP websocket."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self._socket = socket
        self._next = 0
        self.console: list[str] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer (events meanwhile are kept as console)."""
        self._next += 1
        number = self._next
        await self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(await self._socket.recv())
            if message.get("method") == "Runtime.consoleAPICalled":
                args = message["params"].get("args", [])
                self.console.append(" ".join(str(a.get("value", "")) for a in args))
            if message.get("id") == number:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (awaited if it is a promise)."""
        answer = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise BrowserError(json.dumps(answer["exceptionDetails"])[:500])
        return answer["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll until the expression is truthy; its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                shown = await self.evaluate("document.body.innerText.slice(0, 800)")
                msg = f"timed out waiting for: {expression}; page shows: {shown!r}"
                raise BrowserError(f"{msg}; console: {self.console}")
            await asyncio.sleep(0.2)

    async def goto(self, url: str) -> None:
        """Navigate and wait for the document to be complete."""
        await self.call("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page."""
        metrics = await self.call("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = await self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@contextlib.asynccontextmanager
async def headless_page() -> AsyncIterator[Page]:
    """A fresh headless Chromium with one blank tab; stopped at the end of the block."""
    binary = chromium_binary()
    if binary is None:
        raise BrowserError("no chromium: install Debian's package (./dev test does)")
    port = free_port()
    # Chromium's helper processes (renderer, crash handler) may outlive the browser and
    # still write to the profile: the whole process group is stopped, and a file written
    # in the last instant does not fail the test's cleanup.
    with tempfile.TemporaryDirectory(
        prefix="amtsweg-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
             "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            target = await _first_page(port)
            async with websockets.connect(target, max_size=64 * 1024 * 1024) as socket:
                page = Page(socket)
                await page.call("Page.enable")
                await page.call("Runtime.enable")
                yield page
        finally:
            _signal_group(process, signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
            _signal_group(process, signal.SIGKILL)  # helpers still alive


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


async def _first_page(port: int, timeout: float = 30) -> str:
    """The websocket URL of the browser's first tab, once its DevTools endpoint answers."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                targets = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            if asyncio.get_running_loop().time() > deadline:
                raise BrowserError("chromium's DevTools endpoint did not answer")
            await asyncio.sleep(0.2)
