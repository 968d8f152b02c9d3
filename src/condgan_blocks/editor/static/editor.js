// The editor page: every action is one JSON request; the server answers with the new state.
"use strict";

const $ = (id) => document.getElementById(id);
// The server puts a secret into the page; every POST sends it back (other pages cannot read it).
const TOKEN = document.querySelector('meta[name="editor-token"]').content;
let state = null;
let pending = 0;
let stroke = null;

function setBusy(delta) {
  pending += delta;
  $("busy").hidden = pending === 0;
  document.body.dataset.busy = String(pending);
}

function showError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}

async function call(method, path, body) {
  setBusy(1);
  try {
    const options = { method, headers: {} };
    if (method !== "GET") options.headers["X-Editor-Token"] = TOKEN;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const answer = await response.json();
    if (!response.ok) {
      showError(answer.error || response.statusText);
      return null;
    }
    showError("");
    if (answer.state) await show(answer.state);
    return answer;
  } catch (error) {
    showError(String(error));
    return null;
  } finally {
    setBusy(-1);
  }
}

function loadImage(img, url) {
  return new Promise((resolve) => {
    if (img.getAttribute("src") === url && img.complete) return resolve();
    img.onload = img.onerror = () => resolve();
    img.src = url;
  });
}

function fillClassSelect(select, filter) {
  const chosen = select.value;
  select.replaceChildren();
  for (const c of state.classes.filter(filter)) {
    const option = new Option(`${c.id} ${c.name}`, String(c.id));
    select.add(option);
  }
  if (chosen) select.value = chosen;
}

async function show(next) {
  const first = state === null;
  state = next;
  if (first) {
    fillClassSelect($("paint-class"), () => true);
    fillClassSelect($("relabel-class"), () => true);
    fillClassSelect($("background-class"), (c) => !c.is_thing);
    const legend = $("legend");
    for (const c of state.classes) {
      const item = document.createElement("li");
      item.innerHTML = `<span class="swatch"></span>`;
      item.firstChild.style.background = `rgb(${c.color.join(",")})`;
      item.append(`${c.name}${c.is_thing ? " (object)" : ""}`);
      item.dataset.classId = c.id;
      item.onclick = () => { $("paint-class").value = String(c.id); $("mode-paint").click(); };
      legend.append(item);
    }
  }
  const [height, width] = state.size;
  if ($("brush-canvas").width !== width || $("brush-canvas").height !== height) {
    $("brush-canvas").width = width;
    $("brush-canvas").height = height;
  }
  $("undo").disabled = !state.can_undo;
  $("redo").disabled = !state.can_redo;
  showSelection(state.selected);
  await Promise.all([
    loadImage($("labels-img"), state.images.labels),
    loadImage($("generated-img"), state.images.generated),
    loadImage($("labels-selection"), state.images.selection),
    loadImage($("generated-selection"), state.images.selection),
  ]);
  document.body.dataset.version = state.version;
}

function showSelection(info) {
  $("selection-tools").hidden = info === null;
  if (info === null) {
    $("selection-info").textContent = "Click an object in either image.";
    return;
  }
  $("selection-info").textContent =
    `${info.class_name} (class ${info.class_id}), instance ${info.instance_id}, ` +
    `${info.pixels} pixels` + (info.style === null ? "" : `, style ${info.style}`);
  $("relabel-class").value = String(info.class_id);
  const styles = $("styles");
  styles.replaceChildren();
  for (const style of info.styles) {
    const img = document.createElement("img");
    img.className = "style-thumb" + (style.current ? " current" : "");
    img.dataset.cluster = style.cluster;
    img.title = `style ${style.cluster}`;
    img.src = `/api/thumbnail/${info.instance_id}/${style.cluster}.png?v=${state.version}`;
    img.onclick = () => call("POST", "/api/style",
      { instance_id: info.instance_id, cluster: style.cluster });
    styles.append(img);
  }
  if (!info.styles.length) styles.textContent = "no styles for this class";
}

function pixelOf(event, element) {
  const rect = element.getBoundingClientRect();
  const [height, width] = state.size;
  const x = Math.floor(((event.clientX - rect.left) / rect.width) * width);
  const y = Math.floor(((event.clientY - rect.top) / rect.height) * height);
  return [Math.min(Math.max(x, 0), width - 1), Math.min(Math.max(y, 0), height - 1)];
}

function painting() { return $("mode-paint").checked; }

function drawStroke() {
  const canvas = $("brush-canvas");
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!stroke) return;
  const c = state.classes.find((k) => String(k.id) === $("paint-class").value);
  context.fillStyle = `rgba(${c.color.join(",")},0.8)`;
  const radius = Number($("brush").value);
  for (const [x, y] of stroke) {
    context.beginPath();
    context.arc(x + 0.5, y + 0.5, radius, 0, 2 * Math.PI);
    context.fill();
  }
}

function pointerDown(event) {
  if (!state || event.button !== 0) return;
  const pane = event.currentTarget;
  if (!painting() || pane.id !== "labels-pane") {
    const [x, y] = pixelOf(event, pane);
    call("POST", "/api/select", { x, y });
    return;
  }
  stroke = [pixelOf(event, pane)];
  pane.setPointerCapture(event.pointerId);
  drawStroke();
}

function pointerMove(event) {
  if (!stroke) return;
  const point = pixelOf(event, event.currentTarget);
  const last = stroke[stroke.length - 1];
  if (point[0] !== last[0] || point[1] !== last[1]) stroke.push(point);
  drawStroke();
}

async function pointerUp() {
  if (!stroke) return;
  const points = stroke.slice(0, 10000);
  stroke = null;
  await call("POST", "/api/paint", {
    class_id: Number($("paint-class").value), points, brush: Number($("brush").value),
  });
  drawStroke();
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function upload(event) {
  event.preventDefault();
  const labels = $("upload-labels").files[0];
  if (!labels) return showError("choose a label PNG first");
  const body = { labels: await readBase64(labels) };
  const instances = $("upload-instances").files[0];
  if (instances) body.instances = await readBase64(instances);
  await call("POST", "/api/upload", body);
}

function selectedId() { return state.selected && state.selected.instance_id; }

for (const pane of [$("labels-pane"), $("generated-pane")]) {
  pane.addEventListener("pointerdown", pointerDown);
  pane.addEventListener("pointermove", pointerMove);
  pane.addEventListener("pointerup", pointerUp);
}
$("brush").oninput = () => { $("brush-value").value = $("brush").value; };
$("undo").onclick = () => call("POST", "/api/undo", {});
$("redo").onclick = () => call("POST", "/api/redo", {});
$("randomize").onclick = () => call("POST", "/api/randomize", {});
$("relabel-btn").onclick = () => call("POST", "/api/relabel",
  { instance_id: selectedId(), class_id: Number($("relabel-class").value) });
$("delete-btn").onclick = () => call("POST", "/api/delete",
  { instance_id: selectedId(), background_class: Number($("background-class").value) });
$("upload-form").onsubmit = upload;
document.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey)) return;
  if (event.key === "z") { event.preventDefault(); $("undo").click(); }
  if (event.key === "y") { event.preventDefault(); $("redo").click(); }
});
call("GET", "/api/state");
