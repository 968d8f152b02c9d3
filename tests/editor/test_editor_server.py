from __future__ import annotations

import base64
import http.client
import io
import json
import re
import socket
import threading

import numpy as np
import pytest
from PIL import Image

from condgan_blocks.editor import EditorServer
from tests._editor_helpers import CAR, NUM_STYLES, ROAD, car_of, make_session


@pytest.fixture
def server():
    server = EditorServer(make_session(), max_body_bytes=64 * 1024, max_upload_pixels=64 * 64)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def request(server, method, path, body=None, *, raw=None, headers=None):
    """One request as the editor page sends it: POSTs carry the token and a JSON type."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if method == "POST":
        page = {"Content-Type": "application/json", "X-Editor-Token": server.token}
        headers = {**page, **(headers or {})}
    connection.request(method, path, body=data, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    kind = response.getheader("Content-Type", "")
    return response.status, json.loads(payload) if kind == "application/json" else payload


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_url_and_binding(server):
    assert server.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.mark.parametrize("path", ["/", "/editor.js", "/editor.css"])
def test_static_files(server, path):
    status, body = request(server, "GET", path)
    assert status == 200
    assert len(body) > 100


def test_state_and_images(server):
    status, body = request(server, "GET", "/api/state")
    assert status == 200
    state = body["state"]
    assert state["size"] == [32, 64]
    assert {c["name"] for c in state["classes"]} >= {"car", "road"}
    assert not state["can_undo"]
    for url in state["images"].values():
        status, data = request(server, "GET", url)
        assert status == 200
        assert Image.open(io.BytesIO(data)).size == (64, 32)
    for kind in ("generated", "labels", "label_ids", "instance_ids"):
        status, data = request(server, "GET", f"/api/download/{kind}.png")
        assert status == 200
    ids = np.asarray(Image.open(io.BytesIO(data)))
    assert np.array_equal(ids, server.session.instances[0, 0].numpy())


def test_every_edit(server):
    session = server.session
    car, (x, y) = car_of(session)
    status, body = request(server, "POST", "/api/select", {"x": x, "y": y})
    assert status == 200
    assert body["result"]["instance_id"] == car
    assert body["state"]["selected"]["instance_id"] == car
    status, thumb = request(server, "GET", f"/api/thumbnail/{car}/1.png")
    assert status == 200
    assert thumb.startswith(b"\x89PNG")
    cluster = (session.choices[car] + 1) % NUM_STYLES
    status, body = request(server, "POST", "/api/style", {"instance_id": car, "cluster": cluster})
    assert body["result"]["style"] == cluster
    assert body["state"]["can_undo"]
    status, body = request(server, "POST", "/api/relabel", {"instance_id": car, "class_id": 6})
    person = body["result"]["instance_id"]
    assert body["result"]["class_name"] == "person"
    body = request(
        server, "POST", "/api/delete", {"instance_id": person, "background_class": ROAD}
    )[1]
    assert body["result"]["instance_id"] == ROAD
    body = request(server, "POST", "/api/paint", {"class_id": CAR, "points": [[3, 3], [9, 4]]})[1]
    assert body["result"]["class_id"] == CAR
    assert body["result"]["instance_id"] in session.instances
    body = request(server, "POST", "/api/randomize", {"seed": 3})[1]
    assert set(map(int, body["result"])) == set(session.choices)
    versions = {body["state"]["version"]}
    for _ in range(5):
        status, body = request(server, "POST", "/api/undo", {})
        assert status == 200
        versions.add(body["state"]["version"])
    assert body["result"] is True
    assert not body["state"]["can_undo"]
    assert request(server, "POST", "/api/redo", {})[1]["state"]["can_undo"]
    assert len(versions) == 6


def test_upload(server):
    labels = np.full((16, 24), ROAD, dtype=np.uint8)
    labels[4:8, 4:10] = CAR
    status, body = request(server, "POST", "/api/upload", {"labels": png(labels)})
    assert status == 200
    assert body["state"]["size"] == [16, 24]
    assert (server.session.instances[server.session.labels == CAR] == CAR * 1000).all()
    instances = labels.astype(np.uint16)
    instances[4:8, 4:10] = 5001
    status, body = request(
        server, "POST", "/api/upload", {"labels": png(labels), "instances": png(instances)}
    )
    assert status == 200
    assert 5001 in server.session.instances


BAD_UPLOADS = [
    ({"labels": "not base64!"}, "not valid base64"),
    ({"labels": base64.b64encode(b"GIF89a").decode()}, "bytes of a PNG"),
    ({"labels": base64.b64encode(b"\x89PNG\r\n\x1a\nbroken").decode()}, "could not decode"),
    ({"labels": png(np.zeros((4, 4, 3), np.uint8))}, "single-channel"),
    ({"labels": png(np.zeros((65, 65), np.uint8))}, "larger than 4096 pixels"),
    ({"labels": png(np.full((4, 4), 9, np.uint8))}, r"unknown class ids \[9\]"),
    ({"labels": png(np.zeros((4, 4), np.uint8)), "instances": png(np.zeros((5, 4), np.uint8))},
     "same"),
    ({"labels": 3}, "base64 string"),
    ({}, "missing fields"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "match"), BAD_UPLOADS)
def test_bad_uploads(server, body, match):
    status, answer = request(server, "POST", "/api/upload", body)
    assert status == 400
    assert re.search(match, answer["error"], re.IGNORECASE), answer["error"]
    assert server.session.size == (32, 64)


def test_oversized_body_is_refused(server):
    big = {"labels": "A" * (65 * 1024)}
    status, answer = request(server, "POST", "/api/upload", big)
    assert status == 413
    assert "exceeds" in answer["error"]


BAD_REQUESTS = [
    ("POST", "/api/select", b"{not json", 400, "malformed JSON"),
    ("POST", "/api/select", b"[1, 2]", 400, "must be an object"),
    ("POST", "/api/select", b"\xff\xfe", 400, "malformed JSON"),
    ("POST", "/api/select", b'{"x": 1}', 400, "missing fields ['y']"),
    ("POST", "/api/select", b'{"x": 1, "y": 2, "z": 3}', 400, "unknown fields ['z']"),
    ("POST", "/api/select", b'{"x": 99999, "y": 2}', 400, "outside the image"),
    ("POST", "/api/select", b'{"x": "1", "y": 2}', 400, "must be a number"),
    ("POST", "/api/paint", b'{"class_id": 5, "points": [[0, 0], [70, 0]]}', 400, "outside"),
    ("POST", "/api/paint", b'{"class_id": 42, "points": [[0, 0]]}', 400, "not a known class"),
    ("POST", "/api/paint", b'{"class_id": 5, "points": "x"}', 400, "points must be a list"),
    ("POST", "/api/paint", b'{"class_id": 5, "points": [[0, 0]], "brush": 1e9}', 400, "brush"),
    ("POST", "/api/relabel", b'{"instance_id": 77777, "class_id": 5}', 400, "not in the instance"),
    ("POST", "/api/relabel", b'{"instance_id": 3, "class_id": 99}', 400, "not a known class"),
    ("POST", "/api/style", b'{"instance_id": 3, "cluster": 99}', 400, "cluster must be in"),
    ("POST", "/api/delete", b'{"instance_id": 3, "background_class": 5}', 400, "stuff class"),
    ("POST", "/api/undo", b'{"steps": 2}', 400, "unknown fields"),
    ("POST", "/api/randomize", b'{"seed": "x"}', 400, "seed must be"),
    ("POST", "/api/nothing", b"{}", 404, "no such endpoint"),
    ("GET", "/api/nothing", None, 404, "no such page"),
    ("GET", "/../../etc/passwd", None, 404, "no such page"),
    ("GET", "/api/image/secret.png", None, 404, "no image 'secret'"),
    ("GET", "/api/download/..%2Fx.png", None, 404, "no such page"),
    ("GET", "/api/thumbnail/77777/0.png", None, 400, "not in the instance"),
    ("GET", "/api/thumbnail/3/99.png", None, 400, "cluster must be in"),
]


@pytest.mark.parametrize(("method", "path", "raw", "status", "match"), BAD_REQUESTS)
def test_bad_requests_get_json_errors(server, method, path, raw, status, match):
    got, answer = request(server, method, path, raw=raw)
    assert got == status
    assert match in answer["error"]
    assert not server.session.can_undo


def test_missing_content_length_is_411(server):
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as sock:
        port, token = server.server_address[1], server.token
        sock.sendall(
            f"POST /api/undo HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nX-Editor-Token: {token}\r\n"
            "Content-Type: application/json\r\n\r\n".encode()
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.0 411")


def test_a_failing_generator_gives_500_and_the_server_lives_on(server):
    def broken(*args):
        raise RuntimeError("boom")

    working = server.session.generate_fn
    server.session.generate_fn = broken
    server.session.randomize_styles(1)  # a state with no cached image
    status, answer = request(server, "GET", "/api/image/generated.png")
    assert status == 500
    assert "internal error" in answer["error"]
    server.session.generate_fn = working
    assert request(server, "GET", "/api/image/generated.png")[0] == 200


def test_concurrent_requests(server):
    errors = []
    _car, (_x, _y) = car_of(server.session)

    def worker(index):
        try:
            for step in range(6):
                if step % 3 == 0:
                    body = {"class_id": CAR, "points": [[index, step], [index + 3, step + 2]]}
                    status, _ = request(server, "POST", "/api/paint", body)
                elif step % 3 == 1:
                    status, _ = request(server, "GET", "/api/image/generated.png")
                else:
                    status, _ = request(server, "POST", "/api/undo", {})
                if status != 200:
                    errors.append(status)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    status, _body = request(server, "GET", "/api/state")
    assert status == 200
    session = server.session
    labels, instances = session.labels, session.instances
    for instance_id in instances.unique():  # every instance still has one class
        assert labels[instances == instance_id].unique().numel() == 1


def test_server_arguments_are_checked():
    with pytest.raises(TypeError, match="session must be an EditorSession"):
        EditorServer(object())
    with pytest.raises(ValueError, match="max_body_bytes must be a positive int"):
        EditorServer(make_session(), max_body_bytes=0)
