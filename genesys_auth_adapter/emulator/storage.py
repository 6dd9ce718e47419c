"""The storage origin: pre-signed download URLs, which (like S3) refuse a second auth mechanism."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from xml.sax.saxutils import escape

from . import data
from .messages import Request, Response
from .state import EmulatorState

_SIGNED = re.compile(r"/signed/([^/]+)")
_XML = "application/xml"
_TWO_AUTH = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
    "parameter or the Authorization header should be specified"
)
EXPIRES = 600


class StorageApp:
    """Routes for the storage origin, and the signer of the URLs that lead to it.

    Args:
        state: The shared emulator state (counters, clock).
        key: The HMAC key that signs download URLs.
    """

    def __init__(self, state: EmulatorState, key: bytes) -> None:
        self._state = state
        self._key = key

    def signed_url(self, base: str, download_id: str) -> str:
        """Returns a pre-signed URL for ``download_id`` under the storage origin ``base``."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._state.now()))
        return (
            f"{base}/signed/{download_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={stamp}"
            f"&X-Amz-Expires={EXPIRES}&X-Amz-Signature={self._signature(download_id)}"
        )

    def _signature(self, download_id: str) -> str:
        return hmac.new(self._key, download_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def __call__(self, request: Request) -> Response:
        state = self._state
        state.count("storage_requests")
        if request.header("authorization") is not None:
            state.count("storage_authorization_headers")
            return _xml_error(400, "InvalidArgument", _TWO_AUTH)
        match = _SIGNED.fullmatch(request.path)
        if match is None or request.method not in ("GET", "HEAD"):
            return _xml_error(404, "NoSuchKey", "The specified key does not exist.")
        download_id = match.group(1)
        signature = request.params().get("X-Amz-Signature", "")
        if not hmac.compare_digest(signature.encode(), self._signature(download_id).encode()):
            return _xml_error(403, "SignatureDoesNotMatch", "The request signature does not match.")
        return Response(200, data.blob(download_id), "application/octet-stream")


def _xml_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    )
    return Response(status, body.encode("utf-8"), _XML)
