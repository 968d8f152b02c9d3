"""The editor server against hostile clients: other origins, foreign hosts, slow or broken
requests, oversized uploads and floods. Every test talks to a live server over raw sockets."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import select
import socket
import struct
import threading
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from condgan_blocks.editor import EditorServer
from condgan_blocks.editor import server as server_module
from tests._editor_helpers import CAR, ROAD, make_session

ALLOW = "GET, HEAD, POST"


@contextlib.contextmanager
def serving(start=True, **options):
    options = {"max_body_bytes": 256 * 1024, "max_upload_pixels": 64 * 64, **options}
    server = EditorServer(make_session(), **options)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    if start:
        thread.start()
    try:
        yield server, thread
    finally:
        if not thread.is_alive():
            thread.start()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server():
    with serving() as (server, _thread):
        yield server


def message(server, method, path, body=b"", *, host=None, token=True, kind="application/json",
            length=None, extra=()):  # fmt: skip
    """The bytes of one HTTP/1.0 request; by default as the editor page sends it."""
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host or f'127.0.0.1:{port(server)}'}"]
    if token:
        lines.append(f"X-Editor-Token: {server.token if token is True else token}")
    if kind:
        lines.append(f"Content-Type: {kind}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def port(server):
    return server.server_address[1]


def exchange(server, data, *, half_close=False, timeout=10):
    """Send raw bytes, read the whole reply: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port(server)), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return parse(read_all(sock))


def read_all(sock):
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    if body and headers.get("Content-Type") == "application/json":
        body = json.loads(body)
    return status, headers, body


def post(server, path, value, **options):
    return exchange(server, message(server, "POST", path, json.dumps(value).encode(), **options))


def get(server, path, **options):
    return exchange(server, message(server, "GET", path, token=False, kind=None, **options))


def png_b64(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def png_declaring(width, height, colour=0):
    """A small PNG file whose header declares ``width`` x ``height`` pixels."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    data = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + data).decode()


def assert_json_error(status, headers, body, expected, match):
    assert status == expected, (status, body)
    assert headers["Content-Type"] == "application/json"
    assert set(body) == {"error"}
    assert match in body["error"], body["error"]
    assert "Traceback" not in body["error"]


# -- 1. other origins and foreign hosts ----------------------------------------------------------


PAGES = ["/", "/api/state", "/api/image/labels.png", "/api/download/instance_ids.png"]
FOREIGN_HOSTS = ["evil.example:{port}", "evil.example", "127.0.0.1:{other}", "localhost",
                 "[::1]:{port}", "127.0.0.1.evil.example:{port}"]  # fmt: skip
OTHER_ORIGINS = ["http://evil.example", "null", "http://127.0.0.1:{other}",
                 "https://127.0.0.1:{port}", "http://localhost.evil.example:{port}"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_hosts_are_refused(server, host, path):
    host = host.format(port=port(server), other=port(server) + 1)
    status, headers, body = get(server, path, host=host)
    assert_json_error(status, headers, body, 403, "is not this server")
    assert server.token not in json.dumps(body)


def test_a_request_without_host_is_refused(server):
    status, headers, body = exchange(server, b"GET /api/state HTTP/1.0\r\n\r\n")
    assert_json_error(status, headers, body, 400, "expected one Host header, got 0")


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}"])
def test_own_host_forms_are_served(server, host):
    status, _headers, body = get(server, "/api/state", host=host.format(port=port(server)))
    assert status == 200
    assert "state" in body
    status, _headers, _body = post(
        server, "/api/randomize", {"seed": 1}, host=host.format(port=port(server))
    )
    assert status == 200


@pytest.mark.parametrize("origin", OTHER_ORIGINS)
def test_other_origins_are_refused(server, origin):
    origin = origin.format(port=port(server), other=port(server) + 1)
    status, headers, body = post(server, "/api/randomize", {}, extra=[f"Origin: {origin}"])
    assert_json_error(status, headers, body, 403, "are refused")
    status, headers, body = get(server, "/api/state", extra=[f"Origin: {origin}"])
    assert_json_error(status, headers, body, 403, "are refused")
    assert not server.session.can_undo


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{port}", "http://localhost:{port}"])
def test_own_origin_is_served(server, origin):
    origin = origin.format(port=port(server))
    assert post(server, "/api/randomize", {}, extra=[f"Origin: {origin}"])[0] == 200
    assert server.session.can_undo


def test_a_simple_cross_origin_post_is_not_executed(server):
    # what any web page can send without a CORS preflight: text/plain, no custom header
    attack = message(
        server, "POST", "/api/randomize", b"{}", token=False, kind="text/plain",
        extra=["Origin: http://evil.example"],
    )  # fmt: skip
    assert exchange(server, attack)[0] == 403
    no_origin = message(server, "POST", "/api/randomize", b"{}", token=False, kind="text/plain")
    assert_json_error(*exchange(server, no_origin), 403, "no X-Editor-Token header")
    assert not server.session.can_undo


@pytest.mark.parametrize(
    ("token", "kind", "status", "match"),
    [
        (False, "application/json", 403, "no X-Editor-Token header"),
        ("wrong", "application/json", 403, "a wrong X-Editor-Token header"),
        ("\u00e9t\u00e9", "application/json", 403, "a wrong X-Editor-Token header"),
        (True, "text/plain", 415, "Content-Type must be application/json, got 'text/plain'"),
        (True, "application/x-www-form-urlencoded", 415, "must be application/json"),
        (True, "multipart/form-data; boundary=x", 415, "must be application/json"),
        (True, None, 415, "got 'none'"),
    ],
)
def test_posts_need_the_token_and_json(server, token, kind, status, match):
    data = message(server, "POST", "/api/randomize", b"{}", token=token, kind=kind)
    assert_json_error(*exchange(server, data), status, match)
    assert not server.session.can_undo


def test_json_with_a_charset_is_json(server):
    data = message(server, "POST", "/api/undo", b"{}", kind="application/json; charset=utf-8")
    assert exchange(server, data)[0] == 200


def test_the_page_carries_a_per_server_token(server):
    status, headers, page = get(server, "/")
    assert status == 200
    assert f'<meta name="editor-token" content="{server.token}">'.encode() in page
    assert headers["X-Frame-Options"] == "DENY"
    assert len(server.token) >= 32
    with serving() as (other, _thread):
        assert other.token != server.token
    script = get(server, "/editor.js")[2]
    assert b'"X-Editor-Token"' in script
    assert server.token not in json.dumps(get(server, "/api/state")[2])


# -- 2. resource bounds ----------------------------------------------------------------------------


def test_declared_size_is_checked_before_decoding(server, monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("Pillow was asked to open the image")

    monkeypatch.setattr(Image, "open", no_decoding)
    start = time.perf_counter()
    status, headers, body = post(server, "/api/upload", {"labels": png_declaring(20000, 20000)})
    assert_json_error(status, headers, body, 400, "20000x20000 pixels is larger than 4096 pixels")
    status, headers, body = post(server, "/api/upload", {"labels": png_declaring(8, 8, colour=2)})
    assert_json_error(status, headers, body, 400, "single-channel")
    assert time.perf_counter() - start < 2
    assert server.session.size == (32, 64)


def test_uploads_are_decoded_outside_the_session_lock(server, monkeypatch):
    locked = []
    decode = server_module.decode_id_png

    def watched(*args, **kwargs):
        locked.append(server.lock.locked())
        return decode(*args, **kwargs)

    monkeypatch.setattr(server_module, "decode_id_png", watched)
    labels = np.full((16, 24), ROAD, dtype=np.uint8)
    status, _headers, body = post(server, "/api/upload", {"labels": png_b64(labels)})
    assert status == 200, body
    assert locked == [False]
    assert server.session.size == (16, 24)


def test_uploads_stay_within_the_history_memory_bound():
    bound = 400_000
    with serving(max_upload_pixels=64 * 64) as (server, _thread):
        server.session = make_session(max_history_bytes=bound)
        for step in range(12):
            labels = np.full((64, 64), ROAD, dtype=np.uint8)
            labels[step : step + 8, 4:20] = CAR
            status, _headers, body = post(server, "/api/upload", {"labels": png_b64(labels)})
            assert status == 200, body
            assert server.session.history_bytes <= bound
        undos = 0
        while post(server, "/api/undo", {})[2]["result"]:
            undos += 1
    assert 1 <= undos < 11  # each 64x64 state holds about 77 kB of maps and image


# -- 3. many connections at once -------------------------------------------------------------------


def test_fifty_simultaneous_connections_all_get_answers():
    with serving(start=False) as (server, thread):
        # 50 clients connect before the server accepts any: all must fit the listen backlog
        sockets = [socket.create_connection(("127.0.0.1", port(server)), timeout=2)]
        try:
            sockets += [
                socket.create_connection(("127.0.0.1", port(server)), timeout=2) for _ in range(49)
            ]
            thread.start()
            barrier, replies = threading.Barrier(50), [None] * 50

            def client(index):
                barrier.wait(10)
                sockets[index].settimeout(20)
                sockets[index].sendall(message(server, "GET", "/api/state", token=False, kind=None))
                replies[index] = parse(read_all(sockets[index]))

            clients = [threading.Thread(target=client, args=(i,)) for i in range(50)]
            for one in clients:
                one.start()
            for one in clients:
                one.join(30)
        finally:
            for sock in sockets:
                sock.close()
    assert [reply and reply[0] for reply in replies] == [200] * 50
    assert server.request_queue_size >= 128


# -- 4. every bad request gets a 4xx JSON error ----------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FOO"])
def test_other_methods_get_405_with_allow(server, method):
    status, headers, body = exchange(server, message(server, method, "/api/state", b"{}"))
    assert_json_error(status, headers, body, 405, f"method {method!r} is not allowed")
    assert headers["Allow"] == ALLOW


def test_head_is_get_without_a_body(server):
    data = message(server, "HEAD", "/api/state", token=False, kind=None)
    status, headers, body = exchange(server, data)
    assert status == 200
    assert int(headers["Content-Length"]) > 10
    assert body == b""


NESTED = b"[" * 100_000 + b"]" * 100_000
BAD_BODIES = [
    ("/api/upload", {"labels": png_declaring(20000, 20000)}, "20000x20000 pixels is larger"),
    ("/api/relabel", {"instance_id": 2**70, "class_id": 5}, "instance_id must be an int64 id"),
    ("/api/style", {"instance_id": 2**70, "cluster": 0}, "instance_id must be an int64 id"),
    ("/api/delete", {"instance_id": -2**70, "background_class": ROAD}, "int64 id"),
    ("/api/relabel", {"instance_id": CAR * 1000, "class_id": 2**70}, "not a known class"),
    ("/api/select", {"x": 2**70, "y": 0}, "outside the image"),
    ("/api/paint", {"class_id": CAR, "points": [[0, 0]], "brush": 2**70}, "brush"),
    ("/api/randomize", {"seed": 2**70}, "seed must be"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "match"), BAD_BODIES)
def test_bad_values_get_400(server, path, value, match):
    assert_json_error(*post(server, path, value), 400, match)
    assert not server.session.can_undo


@pytest.mark.parametrize(
    ("body", "options", "status", "match"),
    [
        (NESTED, {}, 400, "malformed JSON: nested too deep"),
        (b'{"seed": 1' + b"0" * 5000 + b"}", {}, 400, "malformed JSON"),
        (b'{"seed": NaN}', {}, 400, "seed must be"),
        (b"{}", {"length": "12abc"}, 400, "Content-Length must be one byte count, got '12abc'"),
        (b"{}", {"length": "-2"}, 400, "Content-Length must be one byte count"),
        (b"{}", {"extra": ["Content-Length: 2"]}, 400, "got '2, 2'"),
        (b"{}", {"extra": ["Transfer-Encoding: chunked"]}, 411, "send a Content-Length"),
        (b"{}", {"length": "99999999999999999999"}, 400, "one byte count"),
        (b"{}", {"length": str(10**9)}, 413, "exceeds 262144 bytes"),
    ],
)
def test_bad_bodies_get_4xx(server, body, options, status, match):
    data = message(server, "POST", "/api/randomize", body, **options)
    assert_json_error(*exchange(server, data), status, match)
    assert not server.session.can_undo


@pytest.mark.parametrize(
    ("line", "status", "match"),
    [
        (b"GET /api/state HTTP/2.0", 400, "Invalid HTTP version"),
        (b"GET /api/state HTTP/x.y", 400, "Bad request version"),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.0", 414, "Too Long"),
    ],
)
def test_malformed_request_lines_get_4xx_json(server, line, status, match):
    reply = exchange(server, line + f"\r\nHost: 127.0.0.1:{port(server)}\r\n\r\n".encode())
    assert_json_error(*reply, status, match)


def test_unexpected_errors_give_a_json_500_without_details(server, monkeypatch):
    def broken(session):
        raise KeyError("secret internals")

    monkeypatch.setattr(server_module, "state", broken)
    status, headers, body = get(server, "/api/state")
    assert_json_error(status, headers, body, 500, "internal error")
    assert "secret" not in body["error"]
    monkeypatch.undo()
    assert get(server, "/api/state")[0] == 200


# -- 5. truncated bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/randomize", "/api/undo"])
def test_a_truncated_body_is_refused_and_not_executed(server, path):
    server.session.randomize_styles(0)
    server.session.randomize_styles(1)
    server.session.undo()  # so that undo, redo and randomize would all change the session
    version = server.session.version
    data = message(server, "POST", path, b"{}", length=1000)
    status, headers, body = exchange(server, data, half_close=True)
    assert_json_error(status, headers, body, 400, "ended after 2 of the 1000 bytes")
    assert server.session.version == version


# -- 6. a deadline for the whole request -----------------------------------------------------------


def trickle(server, start, piece, *, seconds=3.0):
    """Send ``start``, then ``piece`` every 0.2 s until the server answers or ``seconds`` pass."""
    sock = socket.create_connection(("127.0.0.1", port(server)), timeout=5)
    began = time.perf_counter()
    with sock:
        sock.sendall(start)
        while time.perf_counter() - began < seconds:
            if select.select([sock], [], [], 0.2)[0]:
                break
            try:
                sock.sendall(piece)
            except OSError:  # the server closed the connection
                break
        reply = read_all(sock)
    return time.perf_counter() - began, reply


@pytest.mark.parametrize("phase", ["request line", "headers", "body"])
def test_a_trickled_request_is_cut_off_at_the_deadline(phase):
    with serving(request_timeout=0.5) as (server, _thread):
        full = message(server, "POST", "/api/randomize", b"{" + b" " * 200 + b"}")
        head = full.partition(b"\r\n\r\n")[0]
        start = {"request line": b"P", "headers": head[:40], "body": head + b"\r\n\r\n{"}[phase]
        elapsed, reply = trickle(server, start, b" " if phase == "body" else b"X")
        status, headers, answer = parse(reply)
        assert_json_error(status, headers, answer, 408, "not complete within 0.5 s")
        assert 0.4 < elapsed < 1.5
        assert not server.session.can_undo


def test_an_idle_connection_is_closed_at_the_deadline():
    with serving(request_timeout=0.5) as (server, _thread):
        began = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port(server)), timeout=5) as sock:
            assert read_all(sock) == b""
        assert time.perf_counter() - began < 1.5


def test_a_quick_request_is_served_under_a_short_deadline():
    with serving(request_timeout=0.5) as (server, _thread):
        assert post(server, "/api/randomize", {"seed": 2})[0] == 200


@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), True, "30"])
def test_request_timeout_is_checked(value):
    with pytest.raises(ValueError, match="request_timeout must be a positive number"):
        EditorServer(make_session(), request_timeout=value)
