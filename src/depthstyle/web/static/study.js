// depthstyle study page: one participant, trials in the server's order, one question at a time.
"use strict";
(() => {
  const name = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
  const base = `/study/${encodeURIComponent(name)}`;
  const $ = (id) => document.getElementById(id);
  const keyName = `depthstyle-study-${name}`;
  let state = null;       // {token, questions, trials, answered:Set}
  let queue = [];         // [{trial, question}] still to answer
  let shownAt = 0;
  let busy = false;

  function fail(msg) { $("error").textContent = msg; $("error").hidden = false; }

  async function api(path, options) {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch(base + path, options);
        if (r.ok) return r.json();
        const body = await r.json().catch(() => ({}));
        const msg = (body.error && body.error.message) || body.detail || r.statusText;
        if (r.status < 500 || attempt >= 4) throw new Error(msg);
      } catch (e) {
        if (attempt >= 4) throw e;
      }
      await new Promise((ok) => setTimeout(ok, 500 * (attempt + 1)));  // retry: stored once
    }
  }

  async function load() {
    let token = localStorage.getItem(keyName);
    let data = null;
    if (token) {
      try { data = await api(`/participants/${token}`); } catch (e) { token = null; }
    }
    if (!token) {
      token = (await api("/participants", { method: "POST" })).token;
      localStorage.setItem(keyName, token);
      data = await api(`/participants/${token}`);
    }
    state = { token, questions: data.questions, trials: data.trials,
              answered: new Set(data.answered.map(([t, q]) => `${t}:${q}`)) };
    queue = [];
    for (const t of state.trials)
      for (let q = 0; q < state.questions.length; q++)
        if (!state.answered.has(`${t.id}:${q}`)) queue.push({ trial: t, question: q });
  }

  function progress() {
    const total = state.trials.length * state.questions.length;
    const done = total - queue.length;
    $("bar").style.width = `${(100 * done) / total}%`;
    $("bar").parentElement.setAttribute("aria-valuenow", String(Math.round((100 * done) / total)));
    $("count").textContent = `${done} of ${total} answered`;
  }

  const PICTURE_TIMEOUT_MS = 15000;  // a request that stalls this long is asked for again

  // true once the picture is there, false when it failed (complete, but no size) or stalled:
  // a failed load must not leave the page waiting for an event that has already fired, nor a
  // stalled one for an event that never comes
  function loaded(img) {
    if (img.complete) return Promise.resolve(img.naturalWidth > 0);
    return new Promise((ok) => {
      const timer = setTimeout(() => ok(false), PICTURE_TIMEOUT_MS);
      img.onload = () => { clearTimeout(timer); ok(true); };
      img.onerror = () => { clearTimeout(timer); ok(false); };
    });
  }

  // load the trial's pictures, asking again (up to 3 times) for any that failed
  async function loadPictures(trial, imgs) {
    let ok = await Promise.all(imgs.map((p) => loaded($(p))));
    for (let attempt = 1; ok.includes(false) && attempt <= 3; attempt++) {
      await new Promise((r) => setTimeout(r, 500 * attempt));
      imgs.forEach((p, i) => { if (!ok[i]) $(p).src = `${trial[p]}?retry=${attempt}`; });
      ok = await Promise.all(imgs.map((p) => loaded($(p))));
    }
    return !ok.includes(false);
  }

  async function show() {
    progress();
    if (!queue.length) {
      $("trial").hidden = true; $("done").hidden = false; $("code").textContent = state.token;
      return;
    }
    const { trial, question } = queue[0];
    $("question").textContent = state.questions[question];
    const imgs = ["content", "style", "left", "right"];
    for (const p of imgs) if ($(p).getAttribute("src") !== trial[p]) $(p).src = trial[p];
    busy = true;
    $("trial").dataset.ready = "0";  // keys before the pictures are there do not count
    if (!(await loadPictures(trial, imgs))) {
      fail("A picture of this screen could not be loaded. Please reload the page to try again.");
      return;  // stays busy: no answer without the pictures
    }
    busy = false;
    $("trial").dataset.ready = "1";
    shownAt = performance.now();
    $("trial").dataset.trial = String(trial.id);
    $("trial").dataset.question = String(question);
  }

  async function choose(side) {
    if (busy || !queue.length || $("trial").hidden) return;
    busy = true;
    $("trial").dataset.ready = "0";
    const { trial, question } = queue[0];
    const rt = Math.round(performance.now() - shownAt);
    try {
      await api("/answers", { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: state.token, trial: trial.id, question, side, rt_ms: rt }) });
      queue.shift();
      busy = false;
      await show();
    } catch (e) {
      busy = false;
      fail(`Your answer could not be saved (${e.message}). Please try again.`);
    }
  }

  // the start button is enabled once the study is loaded: a press before that (a quick
  // participant, a slow server) must not show an empty screen that never fills
  async function start() {
    if (!state || $("start").disabled) return;
    $("intro").hidden = true; $("trial").hidden = false;
    await show();
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (!$("intro").hidden && ev.key === "Enter") { ev.preventDefault(); start(); return; }
    if (ev.key === "ArrowLeft" || ev.key === "1") { ev.preventDefault(); choose("left"); }
    if (ev.key === "ArrowRight" || ev.key === "2") { ev.preventDefault(); choose("right"); }
  });
  $("choose-left").addEventListener("click", () => choose("left"));
  $("choose-right").addEventListener("click", () => choose("right"));
  $("start").addEventListener("click", start);

  load().then(() => {
    progress();
    if (!queue.length) { $("intro").hidden = true; show(); }
    $("start").disabled = false;
    $("start").focus();
  }).catch((e) => fail(`The study could not be loaded: ${e.message}`));
})();
