"""A local HTTP server for one :class:`~condgan_blocks.editor.EditorSession` (standard library).

JSON endpoints (every error is a 4xx JSON ``{"error": message}``, never a crash):

- ``GET /api/state``: ``{"state": ...}``: size, classes, undo/redo, selection, image URLs.
- ``POST /api/select`` ``{"x", "y"}``; ``/api/style`` ``{"instance_id", "cluster"}``;
  ``/api/relabel`` ``{"instance_id", "class_id"}``; ``/api/delete`` ``{"instance_id",
  "background_class"}``; ``/api/paint`` ``{"class_id", "points": [[x, y], ...], "brush"}``;
  ``/api/undo``, ``/api/redo``; ``/api/randomize`` ``{"seed"?}``; ``/api/upload``
  ``{"labels": base64 PNG, "instances"?: base64 PNG}``.
- ``GET /api/image/<labels|generated|selection>.png``, ``/api/thumbnail/<id>/<cluster>.png``,
  ``/api/download/<labels|generated|label_ids|instance_ids>.png``.
- ``GET /``, ``/editor.js``, ``/editor.css``: the page, from the package's ``static`` folder.

The server listens on 127.0.0.1 only and reads no file path from the client. One lock
serialises the requests that touch the session.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import torch

from ._png import decode_id_png, encode_png
from .session import EditorSession

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 2**20
MAX_UPLOAD_PIXELS = 2048 * 1024
_STATIC = {"/": "index.html", "/index.html": "index.html", "/editor.js": "editor.js",
           "/editor.css": "editor.css"}  # fmt: skip
_TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8",
          "css": "text/css; charset=utf-8"}  # fmt: skip
_IMAGE = re.compile(r"^/api/(image|download)/([a-z_]+)\.png$")
_THUMBNAIL = re.compile(r"^/api/thumbnail/(\d{1,9})/(\d{1,4})\.png$")


class RequestError(ValueError):
    """A request the server refuses, with its HTTP status."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class EditorServer(ThreadingHTTPServer):
    """A threading HTTP server holding one session, its lock and the request limits.

    Args:
        session: The session to serve.
        port: TCP port on 127.0.0.1; 0 picks a free one (read it from :attr:`url`).
        max_body_bytes: Largest request body accepted (uploads included).
        max_upload_pixels: Largest uploaded map, in pixels.

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
        >>> server.shutdown()
        >>> server.server_close()
        >>> thread.join(timeout=10)
    """

    daemon_threads = True

    def __init__(
        self,
        session: EditorSession,
        *,
        port: int = 0,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_upload_pixels: int = MAX_UPLOAD_PIXELS,
    ) -> None:
        if not isinstance(session, EditorSession):
            raise TypeError(f"session must be an EditorSession, got {type(session).__name__}")
        for name, value in (
            ("max_body_bytes", max_body_bytes),
            ("max_upload_pixels", max_upload_pixels),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.session = session
        self.lock = threading.Lock()
        self.max_body_bytes = max_body_bytes
        self.max_upload_pixels = max_upload_pixels
        super().__init__(("127.0.0.1", port), EditorHandler)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://127.0.0.1:{self.server_address[1]}/"


class EditorHandler(BaseHTTPRequestHandler):
    """Routes requests to the session of its :class:`EditorServer`."""

    server: EditorServer
    server_version = "condgan-editor"
    timeout = 30  # seconds a client may take to send its request

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: Any, status: int = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _handle(self, route) -> None:
        try:
            route()
        except (BrokenPipeError, ConnectionResetError):  # the client left; nothing to answer
            self.close_connection = True
        except RequestError as error:
            self._json({"error": str(error)}, error.status)
        except (ValueError, TypeError) as error:
            self._json({"error": str(error)}, HTTPStatus.BAD_REQUEST)
        except Exception:  # a bug or a failing generator: report it, keep serving
            logger.exception("editor request %s %s failed", self.command, self.path)
            self._json({"error": "internal error (see the server log)"}, 500)

    def _body(self) -> dict[str, Any]:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
        if int(length) > self.server.max_body_bytes:
            self.close_connection = True
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {length} bytes exceeds {self.server.max_body_bytes} bytes",
            )
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"malformed JSON: {error}") from None
        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "the JSON body must be an object")
        return body

    # -- HTTP verbs ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def _get(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in _STATIC:
            name = _STATIC[path]
            data = resources.files(__package__).joinpath("static", name).read_bytes()
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
        body = self._body()
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


def _upload(server: EditorServer, body: dict[str, Any]) -> dict[str, Any]:
    labels_b64, instances_b64 = _fields(body, ("labels",), ("instances",))
    maps = []
    for name, text in (("labels", labels_b64), ("instances", instances_b64)):
        if text is None:
            continue
        if not isinstance(text, str):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"{name} must be a base64 string")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"{name} is not valid base64") from None
        maps.append(decode_id_png(data, max_pixels=server.max_upload_pixels))
    labels = maps[0]
    instances = maps[1] if len(maps) > 1 else default_instances(labels, server.session)
    server.session.load_maps(labels, instances)
    return {"size": list(server.session.size)}


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
    if path == "/api/upload":
        return _upload(server, body)
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
