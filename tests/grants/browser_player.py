"""The browser, played by a test: follow the authorize URL's redirect to the login's loopback server."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import requests


class PlayedBrowser:
    """Opens an authorize URL (in a thread, as a browser would, while the login waits) and follows the
    emulator's redirect to the loopback server, with no proxy; remembers what each step answered."""

    def __init__(self, *, tamper_state: bool = False) -> None:
        self.tamper_state = tamper_state
        self.authorize_status: int | None = None
        self.redirect: str | None = None
        self.landing: requests.Response | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def __call__(self, url: str) -> None:
        self._thread = threading.Thread(target=self._visit, args=(url,), daemon=True)
        self._thread.start()

    def _visit(self, url: str) -> None:
        try:
            with requests.Session() as browser:
                browser.trust_env = False
                answer = browser.get(url, allow_redirects=False, timeout=10)
                self.authorize_status = answer.status_code
                location = answer.headers.get("Location")
                if location is None:
                    return
                if self.tamper_state:
                    location = location.replace("state=", "state=x")
                self.redirect = location
                self.landing = browser.get(location, timeout=10)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(15)

    @property
    def code(self) -> str | None:
        if self.redirect is None:
            return None
        return parse_qs(urlsplit(self.redirect).query).get("code", [None])[0]
