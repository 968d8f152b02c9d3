"""A local HTTP server for one [`EditorSession`][condgan_blocks.editor.EditorSession] (stdlib).

JSON endpoints (every error is a JSON ``{"error": message}``, 4xx for a bad request):

- ``GET /api/state``: ``{"state": ...}``: size, classes, undo/redo, selection, image URLs.
- ``POST /api/select`` ``{"x", "y"}``; ``/api/style`` ``{"instance_id", "cluster"}``;
  ``/api/relabel`` ``{"instance_id", "class_id"}``; ``/api/delete`` ``{"instance_id",
  "background_class"}``; ``/api/paint`` ``{"class_id", "points": [[x, y], ...], "brush"}``;
  ``/api/undo``, ``/api/redo``; ``/api/randomize`` ``{"seed"?}``; ``/api/upload``
  ``{"labels": base64 PNG, "instances"?: base64 PNG}``. Every POST needs
  ``Content-Type: application/json`` and the page's token in ``X-Editor-Token``.
- ``GET /api/image/<labels|generated|selection>.png``, ``/api/thumbnail/<id>/<cluster>.png``,
  ``/api/download/<labels|generated|label_ids|instance_ids>.png``.
- ``GET /``, ``/editor.js``, ``/editor.css``: the page, from the package's ``static`` folder.

The server listens on 127.0.0.1 only and reads no file path from the client. One lock
serialises the requests that touch the session; uploads are decoded and checked outside it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import io
import json
import logging
import math
import re
import secrets
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import torch

from ._png import decode_id_png, encode_png, png_header
from .session import EditorSession, _Maps

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 2**20
MAX_UPLOAD_PIXELS = 2048 * 1024
REQUEST_TIMEOUT = 30.0
TOKEN_HEADER = "X-Editor-Token"
_TOKEN_SLOT = b"{{EDITOR_TOKEN}}"  # in static/index.html
_ALLOW = "GET, HEAD, POST"
_UPLOAD_SLOTS = 2  # uploads decoded at the same time
_LINGER_SECONDS, _LINGER_BYTES = 1.0, 64 * 2**20  # unread request bytes dropped at the end
_STATIC = {"/": "index.html", "/index.html": "index.html", "/editor.js": "editor.js",
           "/editor.css": "editor.css"}  # fmt: skip
_TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
          "css": "text/css; charset=utf-8"}  # fmt: skip
_IMAGE = re.compile(r"^/api/(image|download)/([a-z_]+)\.png$")
_THUMBNAIL = re.compile(r"^/api/thumbnail/(\d{1,9})/(\d{1,4})\.png$")
_LENGTH = re.compile(r"[0-9]{1,18}")


class RequestError(ValueError):
    """A request the server refuses, with its HTTP status and extra headers."""

    def __init__(self, status: HTTPStatus, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


class EditorServer(ThreadingHTTPServer):
    """A threading HTTP server holding one session, its lock and the request limits.

    The server is meant for the user's own browser on the same machine; it listens on
    127.0.0.1 only and defends the session against other web pages and other local clients:

    - Every request must name this server in its ``Host`` header (``127.0.0.1:<port>`` or
      ``localhost:<port>``), so a web page that rebinds its own domain name to 127.0.0.1 (DNS
      rebinding) can read nothing; a request with an ``Origin`` header of another origin is
      refused too (403).
    - The page is served with a random per-server `token` (`secrets.token_urlsafe`) in a
      ``<meta name="editor-token">`` tag; every POST must send it back in an
      ``X-Editor-Token`` header (403 otherwise) and have ``Content-Type: application/json``
      (415 otherwise), so other pages cannot send "simple" cross-origin requests.
    - Bodies are limited to `max_body_bytes` (413) and must arrive whole (400); uploaded maps
      are limited to `max_upload_pixels`, read from the PNG header before any pixel is
      decoded, and decoded and checked outside the session lock. The session bounds its undo
      history by states and bytes
      ([`EditorSession`][condgan_blocks.editor.EditorSession] ``max_history_bytes``).
    - The request line, headers and body together must arrive within `request_timeout`
      seconds (408 and the connection closed otherwise), however slowly the bytes trickle in.
    - Every refused request gets a 4xx answer with a JSON body ``{"error": message}`` (405 and
      an ``Allow`` header for other methods); an unexpected failure (such as a failing
      generator) gets a JSON 500 without details, which go to the log.

    Args:
        session: The session to serve.
        port: TCP port on 127.0.0.1; 0 picks a free one (read it from `url`).
        max_body_bytes: Largest request body accepted (uploads included).
        max_upload_pixels: Largest uploaded map, in pixels.
        request_timeout: Seconds a client may take to send one whole request.

    Attributes:
        token: The secret that POST requests carry in ``X-Editor-Token``.

    Raises:
        TypeError: If `session` is not an `EditorSession`.
        ValueError: If a limit is not positive.

    Examples:
        >>> import json, threading, urllib.request
        >>> from condgan_blocks.editor import EditorClass, EditorServer, EditorSession
        >>> session = EditorSession(
        ...     torch.tensor([[0, 0, 5, 5]]),
        ...     torch.tensor([[0, 0, 5000, 5000]]),
        ...     classes=[EditorClass(0, "road", False, (128, 64, 128)),
        ...              EditorClass(5, "car", True, (0, 0, 142))],
        ...     generate=lambda labels, instances, choices: torch.zeros(3, 1, 4),
        ... )
        >>> server = EditorServer(session, port=0)
        >>> server.url.startswith("http://127.0.0.1:")
        True
        >>> thread = threading.Thread(target=server.serve_forever, daemon=True)
        >>> thread.start()
        >>> opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy
        >>> with opener.open(server.url + "api/state", timeout=10) as response:
        ...     response.status, "state" in json.load(response)
        (200, True)
        >>> undo = urllib.request.Request(
        ...     server.url + "api/undo", data=b"{}", method="POST",
        ...     headers={"Content-Type": "application/json", "X-Editor-Token": server.token},
        ... )
        >>> with opener.open(undo, timeout=10) as response:
        ...     json.load(response)["result"]
        False
        >>> server.shutdown()
        >>> server.server_close()
        >>> thread.join(timeout=10)
    """

    daemon_threads = True
    request_queue_size = 128  # connections the kernel holds until they are accepted

    def __init__(
        self,
        session: EditorSession,
        *,
        port: int = 0,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_upload_pixels: int = MAX_UPLOAD_PIXELS,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        if not isinstance(session, EditorSession):
            raise TypeError(f"session must be an EditorSession, got {type(session).__name__}")
        for name, value in (
            ("max_body_bytes", max_body_bytes),
            ("max_upload_pixels", max_upload_pixels),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if (
            isinstance(request_timeout, bool)
            or not isinstance(request_timeout, (int, float))
            or not 0 < request_timeout < math.inf
        ):
            raise ValueError(
                f"request_timeout must be a positive number of seconds, got {request_timeout!r}"
            )
        self.session = session
        self.lock = threading.Lock()
        self.upload_slots = threading.BoundedSemaphore(_UPLOAD_SLOTS)
        self.max_body_bytes = max_body_bytes
        self.max_upload_pixels = max_upload_pixels
        self.request_timeout = float(request_timeout)
        self.token = secrets.token_urlsafe(32)
        super().__init__(("127.0.0.1", port), EditorHandler)
        host, port = self.server_address[:2]
        names = {"localhost", "127.0.0.1", f"[{host}]" if ":" in host else host}
        self.hosts = {f"{name}:{port}" for name in names} | (names if port == 80 else set())
        self.origins = {f"http://{name}" for name in self.hosts}

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def shutdown_request(self, request: socket.socket) -> None:
        """End a connection gently: finish the answer, then drop what the client still sends.

        Closing a socket with unread request bytes (a refused body) sends a reset, which can
        destroy the answer before the client reads it; so the rest is read and discarded for at
        most a second (the answer is complete, so a well-behaved client closes first).
        """
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_WR)
            deadline, dropped = time.monotonic() + _LINGER_SECONDS, 0
            while (left := deadline - time.monotonic()) > 0 and dropped < _LINGER_BYTES:
                request.settimeout(left)
                chunk = request.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)
        self.close_request(request)


class _DeadlineReader(io.RawIOBase):
    """A socket's input that raises `TimeoutError` once the request's deadline has passed.

    Every receive waits only for the time left, so a client cannot stretch a request by
    sending one byte at a time.
    """

    def __init__(self, connection: socket.socket, write_timeout: float) -> None:
        self.connection = connection
        self.write_timeout = write_timeout
        self.deadline = math.inf
        self.received = 0
        self.timed_out = False

    def start(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.received = 0
        self.timed_out = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.timed_out = True
            raise TimeoutError("the request was not complete before its deadline")
        self.connection.settimeout(left)
        try:
            count = self.connection.recv_into(buffer)
        except TimeoutError:
            self.timed_out = True
            raise
        finally:
            self.connection.settimeout(self.write_timeout)
        self.received += count
        return count


class EditorHandler(BaseHTTPRequestHandler):
    """Routes requests to the session of its `EditorServer`."""

    server: EditorServer
    server_version = "condgan-editor"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    # -- plumbing -----------------------------------------------------------------------------

    def setup(self) -> None:
        self.timeout = self.server.request_timeout
        super().setup()
        self.rfile.close()
        self._reader = _DeadlineReader(self.connection, self.server.request_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self.command, self.requestline, self.request_version = "", "", "HTTP/1.0"
        self._answered = False
        self._reader.start(self.server.request_timeout)
        super().handle_one_request()  # closes the connection on a timeout, without an answer
        if self._reader.timed_out and self._reader.received and not self._answered:
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client may be gone already
                self._json({"error": self._late()}, HTTPStatus.REQUEST_TIMEOUT)

    def _late(self) -> str:
        return (
            f"the request was not complete within {self.server.request_timeout:g} s; send the "
            "request line, headers and body at once"
        )

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's refusals (bad request line or headers), as JSON errors."""
        status, headers = HTTPStatus(code), {}
        if status == HTTPStatus.NOT_IMPLEMENTED:  # a method this server does not handle
            status, headers["Allow"] = HTTPStatus.METHOD_NOT_ALLOWED, _ALLOW
            message = f"method {(self.command or '')[:20]!r} is not allowed; use one of {_ALLOW}"
        elif status >= 500:  # an HTTP version the server does not speak is a bad request
            status = HTTPStatus.BAD_REQUEST
        self.close_connection = True
        self._json({"error": message or explain or status.phrase}, status, **headers)

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self._answered = True
        if self.request_version == "HTTP/0.9":  # a request line the server could not read
            self.request_version = "HTTP/1.0"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: Any, status: int = HTTPStatus.OK, **headers: str) -> None:
        self._send(status, json.dumps(value).encode(), "application/json", **headers)

    def _handle(self, route) -> None:
        try:
            self._check_host_and_origin()
            route()
        except (BrokenPipeError, ConnectionResetError):  # the client left; nothing to answer
            self.close_connection = True
        except RequestError as error:
            self.close_connection = True
            self._json({"error": str(error)}, error.status, **error.headers)
        except (ValueError, TypeError) as error:
            self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
        except Exception:  # a bug or a failing generator: report it, keep serving
            logger.exception("editor request %s %s failed", self.command, self.path[:200])
            self.close_connection = True
            self._json({"error": "internal error (see the server log)"}, 500)

    def _check_host_and_origin(self) -> None:
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1:
            raise RequestError(
                HTTPStatus.BAD_REQUEST, f"expected one Host header, got {len(hosts)}"
            )
        if hosts[0].strip().lower() not in self.server.hosts:
            raise RequestError(
                HTTPStatus.FORBIDDEN,
                f"Host {hosts[0][:80]!r} is not this server; expected one of "
                f"{sorted(self.server.hosts)}",
            )
        origin = self.headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.server.origins:
            raise RequestError(
                HTTPStatus.FORBIDDEN,
                f"requests from origin {origin[:80]!r} are refused; expected one of "
                f"{sorted(self.server.origins)}",
            )

    def _check_token_and_type(self) -> None:
        token = self.headers.get(TOKEN_HEADER)
        if token is None or not hmac.compare_digest(
            token.encode("utf-8", "replace"), self.server.token.encode()
        ):
            raise RequestError(
                HTTPStatus.FORBIDDEN,
                f"{'a wrong' if token else 'no'} {TOKEN_HEADER} header; POST requests need the "
                "token of the editor page (reload the page)",
            )
        given = self.headers.get("Content-Type")
        if self.headers.get_content_type() != "application/json":
            raise RequestError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type must be application/json, got {(given or 'none')[:60]!r}",
            )

    def _body(self) -> dict[str, Any]:
        if "Transfer-Encoding" in self.headers:
            raise RequestError(
                HTTPStatus.LENGTH_REQUIRED,
                "Transfer-Encoding is not supported; send a Content-Length header",
            )
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
        if len(lengths) != 1 or not _LENGTH.fullmatch(lengths[0].strip()):
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"Content-Length must be one byte count, got {', '.join(lengths)[:60]!r}",
            )
        length = int(lengths[0])
        if length > self.server.max_body_bytes:
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length} bytes exceeds {self.server.max_body_bytes} bytes",
            )
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            raise RequestError(HTTPStatus.REQUEST_TIMEOUT, self._late()) from None
        if len(raw) != length:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"the body ended after {len(raw)} of the {length} bytes that Content-Length "
                "declared; nothing was done",
            )
        try:
            body = json.loads(raw or b"{}")
        except RecursionError:
            raise RequestError(HTTPStatus.BAD_REQUEST, "malformed JSON: nested too deep") from None
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
            raise RequestError(HTTPStatus.BAD_REQUEST, f"malformed JSON: {error}") from None
        if not isinstance(body, dict):
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"the JSON body must be an object, got {type(body).__name__}",
            )
        return body

    # -- HTTP verbs ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle(self._get)

    def do_HEAD(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def _get(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in _STATIC:
            name = _STATIC[path]
            data = resources.files(__package__).joinpath("static", name).read_bytes()
            data = data.replace(_TOKEN_SLOT, self.server.token.encode())
            return self._send(200, data, _TYPES[name.rsplit(".", 1)[1]])
        session, lock = self.server.session, self.server.lock
        if path == "/api/state":
            with lock:
                return self._json({"state": state(session)})
        if match := _IMAGE.match(path):
            with lock:
                data = picture(session, *match.groups())
            extra = {}
            if match[1] == "download":
                extra["Content_Disposition"] = f'attachment; filename="{match[2]}.png"'
            return self._send(200, data, "image/png", **extra)
        if match := _THUMBNAIL.match(path):
            with lock:
                data = encode_png(session.thumbnail(int(match[1]), int(match[2])))
            return self._send(200, data, "image/png")
        raise RequestError(HTTPStatus.NOT_FOUND, f"no such page: {path[:80]}")

    def _post(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in _ACTIONS and path != "/api/upload":
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such endpoint: {path[:80]}")
        self._check_token_and_type()
        body = self._body()
        if path == "/api/upload":
            with self.server.upload_slots:  # the costly part, outside the session lock
                maps = _upload_maps(self.server, body)
            with self.server.lock:
                self.server.session._load(maps)
                result = {"size": list(self.server.session.size)}
                return self._json({"result": result, "state": state(self.server.session)})
        with self.server.lock:
            result = _act(self.server, path, body)
            self._json({"result": result, "state": state(self.server.session)})


# -- endpoint functions ------------------------------------------------------------------------


def _fields(body: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()):
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"unknown fields {unknown}")
    missing = [name for name in required if name not in body]
    if missing:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"missing fields {missing}")
    return [body.get(name) for name in (*required, *optional)]


def _upload_maps(server: EditorServer, body: dict[str, Any]) -> _Maps:
    """Decoded and checked maps of an upload; needs no lock (reads only the class table)."""
    labels_b64, instances_b64 = _fields(body, ("labels",), ("instances",))
    files = []
    for name, text in (("labels", labels_b64), ("instances", instances_b64)):
        if text is None:
            continue
        if not isinstance(text, str):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"{name} must be a base64 string")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"{name} is not valid base64") from None
        width, height, _ = png_header(data)  # every size is checked before any pixel is decoded
        if width * height > server.max_upload_pixels:
            raise RequestError(
                HTTPStatus.BAD_REQUEST,
                f"{name}: image of {width}x{height} pixels is larger than "
                f"{server.max_upload_pixels} pixels",
            )
        files.append(data)
    maps = [decode_id_png(data, max_pixels=server.max_upload_pixels) for data in files]
    labels = maps[0]
    instances = maps[1] if len(maps) > 1 else default_instances(labels, server.session)
    return server.session._check_maps(labels, instances)


def default_instances(labels: torch.Tensor, session: EditorSession) -> torch.Tensor:
    """Instances for a label map alone: stuff ids are their class, each thing class one id."""
    instances = labels.clone()
    for class_id, info in session.classes.items():
        if info.is_thing:
            instances[labels == class_id] = class_id * session.class_divisor
    return instances


_ACTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # path: (session method, required fields, optional fields)
    "/api/select": ("select", ("x", "y"), ()),
    "/api/style": ("set_style", ("instance_id", "cluster"), ()),
    "/api/relabel": ("relabel", ("instance_id", "class_id"), ()),
    "/api/delete": ("delete", ("instance_id", "background_class"), ()),
    "/api/paint": ("paint", ("class_id", "points"), ("brush",)),
    "/api/undo": ("undo", (), ()),
    "/api/redo": ("redo", (), ()),
    "/api/randomize": ("randomize_styles", (), ("seed",)),
}


def _act(server: EditorServer, path: str, body: dict[str, Any]) -> Any:
    method, required, optional = _ACTIONS[path]
    values = _fields(body, required, optional)
    kwargs = {k: v for k, v in zip(required + optional, values, strict=True) if v is not None}
    return getattr(server.session, method)(**kwargs)


def state(session: EditorSession) -> dict[str, Any]:
    """The JSON view of a session that the page shows."""
    version = f"{session.version:x}"
    return {
        "version": version,
        "size": list(session.size),
        "classes": [
            {"id": c.id, "name": c.name, "is_thing": c.is_thing, "color": list(c.color)}
            for c in session.classes.values()
        ],
        "can_undo": session.can_undo,
        "can_redo": session.can_redo,
        "selected": None if session.selected is None else session.instance_info(session.selected),
        "images": {kind: f"/api/image/{kind}.png?v={version}" for kind in _PICTURES},
    }


_PICTURES = {
    "labels": lambda s: encode_png(s.label_picture()),
    "generated": lambda s: encode_png(s.generated()),
    "selection": lambda s: encode_png(s.selection_picture()),
}
_DOWNLOADS = {
    "labels": _PICTURES["labels"],
    "generated": _PICTURES["generated"],
    "label_ids": lambda s: encode_png(s.labels[0]),
    "instance_ids": lambda s: encode_png(s.instances[0]),
}


def picture(session: EditorSession, route: str, kind: str) -> bytes:
    """PNG bytes of one image (``route`` "image") or download (``route`` "download")."""
    table = _PICTURES if route == "image" else _DOWNLOADS
    if kind not in table:
        raise RequestError(
            HTTPStatus.NOT_FOUND, f"no {route} {kind!r}; choose from {sorted(table)}"
        )
    return table[kind](session)
