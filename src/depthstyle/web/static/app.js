// depthstyle web page: pick/upload inputs, move sliders for a low-resolution preview, render the
// full size on demand, download. Talks only to this server's /api endpoints.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  content: null,      // {file: File} or {example: id, hasDepth}
  style: null,        // {file: File} or {id}
  depth: null,        // File or null
  limits: { preview_side: 320, max_side: 2048 },
  contentSide: null,  // longer side of the chosen content, when known
  depthModel: null,
  inflight: null,     // AbortController of the running request
  timer: null,
  result: null,       // {url, full: bool}
};

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(text, busy = false) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("busy", busy);
}

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

function pickButton(item, onPick) {
  const b = document.createElement("button");
  b.type = "button";
  b.title = item.title;
  b.setAttribute("aria-pressed", "false");
  b.setAttribute("role", "listitem");
  b.dataset.id = item.id;
  const img = document.createElement("img");
  img.src = item.url;
  img.alt = item.title;
  b.appendChild(img);
  b.addEventListener("click", () => onPick(item, b));
  return b;
}

function press(container, button) {
  for (const b of container.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
  if (button) button.setAttribute("aria-pressed", "true");
}

function imageSide(src) {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve(Math.max(img.naturalWidth, img.naturalHeight));
    img.onerror = () => resolve(null);
    img.src = src;
  });
}

function updateDepthHint() {
  const learned = $("strength-mode").value === "learned";
  for (const cb of document.querySelectorAll("#levels input")) cb.disabled = learned;
  let text;
  if ($("strength-mode").value === "uniform") text = "Uniform strength (plain AdaIN).";
  else if (state.depth) text = `Using your map ${state.depth.name}.`;
  else if (state.content && state.content.hasDepth)
    text = `Using the example's ground-truth map (${$("depth-kind").value}).`;
  else if (state.depthModel) text = `Depth estimated by ${state.depthModel}.`;
  else text = "No depth map and no depth model on this server: strength is uniform. " +
              "Upload a depth map to make it depth-aware.";
  $("depth-hint").textContent = text;
}

function formData(side) {
  const fd = new FormData();
  if (state.content.file) fd.append("content", state.content.file);
  else fd.append("content_example", state.content.example);
  if (state.style.file) fd.append("style", state.style.file);
  else fd.append("style_id", state.style.id);
  if (state.depth) fd.append("depth", state.depth);
  fd.append("depth_kind", $("depth-kind").value);
  fd.append("strength", $("strength-mode").value);
  for (const k of ["alpha", "offset", "contrast", "texture_match"]) fd.append(k, $(k).value);
  // the learned module sets every level itself; the checkboxes apply to the hand-set map
  const learned = $("strength-mode").value === "learned";
  const levels = [...document.querySelectorAll("#levels input:checked")].map((i) => i.value);
  fd.append("levels", learned ? "" : levels.join(","));
  fd.append("invert", $("invert").checked ? "true" : "false");
  fd.append("preserve_color", $("preserve-color").value);
  fd.append("size", String(side));
  fd.append("format", "json");
  return fd;
}

async function render(full) {
  if (!state.content || !state.style) return;
  if (state.inflight) state.inflight.abort();
  const ctrl = new AbortController();
  state.inflight = ctrl;
  const maxSide = state.limits.max_side;
  const side = full ? Math.min(state.contentSide || maxSide, maxSide)
                    : Math.min(state.limits.preview_side, state.contentSide || 1e9);
  setStatus(full ? `Rendering full size (${side} px)…` : "Rendering preview…", true);
  $("render-full").disabled = true;
  try {
    const r = await fetch("/api/stylize", { method: "POST", body: formData(side),
                                            signal: ctrl.signal });
    let body;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const msg = body && body.error ? body.error.message : `HTTP ${r.status}`;
      throw new Error(msg);
    }
    showError("");
    $("result").src = body.image;
    $("result").hidden = false;
    $("proximity").src = body.proximity;
    $("proximity").hidden = false;
    $("strength").src = body.strength;
    $("strength").hidden = false;
    const kind = full ? "full size" : "preview";
    $("result-caption").textContent =
      `${kind}, ${body.width}×${body.height}, ${body.depth.description}, ` +
      `${Math.round(body.elapsed_ms)} ms`;
    const dl = $("download");
    dl.href = body.image;
    dl.textContent = full ? "Download" : "Download preview";
    dl.classList.remove("disabled");
    dl.setAttribute("aria-disabled", "false");
    state.result = { full };
    setStatus(full ? "Done." : "Preview ready. Render full size for the final image.");
  } catch (e) {
    if (e.name === "AbortError") return;
    showError(e.message || String(e));
    setStatus("");
  } finally {
    if (state.inflight === ctrl) {
      state.inflight = null;
      $("render-full").disabled = !(state.content && state.style);
    }
  }
}

function schedulePreview() {
  updateDepthHint();
  if (!state.content || !state.style) return;
  clearTimeout(state.timer);
  state.timer = setTimeout(() => render(false), 150);
}

function bindSlider(id, digits) {
  const el = $(id);
  const out = $(`${id}-out`);
  const show = () => { out.textContent = Number(el.value).toFixed(digits); };
  show();
  el.addEventListener("input", () => { show(); schedulePreview(); });
}

async function init() {
  const [styles, examples, models, health] = await Promise.all([
    getJSON("/api/styles"), getJSON("/api/examples"), getJSON("/api/models"),
    getJSON("/api/health")]);
  state.limits = health.limits;
  state.depthModel = health.depth_model;
  $("offset").value = String(health.defaults.offset);
  $("contrast").value = String(health.defaults.contrast);
  $("texture_match").value = String(health.defaults.texture_match);
  bindSlider("alpha", 2);
  bindSlider("offset", 2);
  bindSlider("contrast", 0);
  bindSlider("texture_match", 2);

  const loaded = models.find((m) => m.loaded);
  if (!loaded.learned_strength) {  // this model has no learned module: offer what works
    const opt = document.querySelector("#strength-mode option[value=learned]");
    opt.disabled = true;
    opt.textContent += " (not in this model)";
  }
  const levelsBox = $("levels");
  levelsBox.textContent = "Levels: ";
  (loaded.levels || []).forEach((name, i) => {
    const lab = document.createElement("label");
    const cb = document.createElement("input");
    cb.type = "checkbox";
    cb.value = String(i + 1);
    cb.checked = i + 1 === loaded.decode_level;
    cb.addEventListener("change", schedulePreview);
    lab.append(cb, ` ${i + 1} (${name})`);
    levelsBox.appendChild(lab);
  });

  const credits = [];
  const cbox = $("content-examples");
  for (const ex of examples) {
    credits.push(`${ex.title}: ${ex.credit}`);
    cbox.appendChild(pickButton(ex, async (item, b) => {
      press(cbox, b);
      state.content = { example: item.id, hasDepth: item.has_depth };
      if (item.has_depth && !state.depth) $("depth-kind").value = item.depth_kind;
      $("content-file").value = "";
      $("content-chosen").textContent = `Example: ${item.title}`;
      state.contentSide = await imageSide(item.url);
      $("render-full").disabled = !state.style;
      schedulePreview();
    }));
  }
  const sbox = $("style-gallery");
  for (const st of styles) {
    credits.push(`${st.title}: ${st.credit}`);
    sbox.appendChild(pickButton(st, (item, b) => {
      press(sbox, b);
      state.style = { id: item.id };
      $("style-file").value = "";
      $("style-chosen").textContent = `Style: ${item.title}`;
      $("render-full").disabled = !state.content;
      schedulePreview();
    }));
  }
  $("credits").textContent = credits.join(" · ");

  $("content-file").addEventListener("change", async (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    press(cbox, null);
    state.content = { file: f, hasDepth: false };
    $("content-chosen").textContent = `Upload: ${f.name}`;
    const url = URL.createObjectURL(f);
    state.contentSide = await imageSide(url);
    URL.revokeObjectURL(url);
    $("render-full").disabled = !state.style;
    schedulePreview();
  });
  $("style-file").addEventListener("change", (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    press(sbox, null);
    state.style = { file: f };
    $("style-chosen").textContent = `Upload: ${f.name}`;
    $("render-full").disabled = !state.content;
    schedulePreview();
  });
  $("depth-file").addEventListener("change", (ev) => {
    state.depth = ev.target.files[0] || null;
    if (state.depth) {  // the name says how to read it, as on the command line
      const name = state.depth.name.toLowerCase();
      $("depth-kind").value = name.includes("disparity") || name.startsWith("disp") ?
        "disparity" : "depth";
    }
    schedulePreview();
  });
  for (const id of ["strength-mode", "depth-kind", "invert", "preserve-color"]) {
    $(id).addEventListener("change", schedulePreview);
  }
  $("render-full").addEventListener("click", () => render(true));
  updateDepthHint();
  setStatus("Pick a content and a style.");
}

init().catch((e) => showError(`Could not load the app: ${e.message}`));
