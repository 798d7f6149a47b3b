"""The page at `/`: type a text, see its label, the probabilities and the words that decided.

One self-contained HTML document (inline CSS and JavaScript, no fonts, scripts or styles from
anywhere else, no build step), so it works offline and behind any firewall, and ships inside
the package as a string rather than a data file. It calls the same `POST /predict` (with
`explain`) any client would, through a relative URL, so it also works behind a proxy that serves
the API under a prefix. `/?text=...` fills the box and classifies at once, which makes a result
something to link to (and lets a headless browser test the page without typing).

Words are shaded by their explanation weight: orange for a word that argued for the label,
blue for one that argued against it (occlusion weights are signed), darker for a larger weight.
Everything from the server or the user is put in with `textContent`, never as HTML.
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rnncli</title>
<link rel="icon" href="data:,">
<style>
  :root { --ink: #1d232a; --muted: #5d6873; --line: #d5dbe1; --accent: #1f6feb; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
         background: #f6f8fa; }
  main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
  h1 { font-size: 1.4rem; margin: 0; }
  #run { color: var(--muted); font-size: .9rem; margin: .2rem 0 1rem; }
  textarea { width: 100%; min-height: 8rem; padding: .7rem; font: inherit; border: 1px solid var(--line);
             border-radius: 6px; resize: vertical; background: #fff; color: inherit; }
  .row { display: flex; gap: .8rem; align-items: center; margin: .6rem 0 1.2rem; }
  button { font: inherit; padding: .45rem 1.2rem; border: 0; border-radius: 6px; background: var(--accent);
           color: #fff; cursor: pointer; }
  button:disabled { opacity: .6; cursor: progress; }
  .hint { color: var(--muted); font-size: .85rem; }
  #error { color: #b42318; font-weight: 600; margin: 0 0 1rem; }
  #error:empty { display: none; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem; }
  #verdict { font-size: 1.3rem; margin: 0 0 .8rem; }
  #label { font-weight: 700; }
  #probability { color: var(--muted); }
  .bar { display: grid; grid-template-columns: minmax(5rem, max-content) 1fr 4.5rem; gap: .6rem;
         align-items: center; font-size: .9rem; margin: .15rem 0; }
  .track { background: #eef1f4; border-radius: 3px; height: .8rem; overflow: hidden; }
  .fill { background: var(--accent); height: 100%; }
  .pct { text-align: right; font-variant-numeric: tabular-nums; }
  #shaded { margin: 1rem 0 .4rem; padding: .8rem; border: 1px solid var(--line); border-radius: 6px;
            white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.9; }
  .w { border-radius: 3px; padding: .05rem .05rem; }
  .legend { color: var(--muted); font-size: .85rem; }
  .key { display: inline-block; width: .9rem; height: .9rem; border-radius: 2px; vertical-align: -.1rem; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<main>
  <h1>rnncli</h1>
  <p id="run">&nbsp;</p>
  <label for="text" class="hint">A text to classify</label>
  <textarea id="text" placeholder="Type or paste a review..."></textarea>
  <div class="row">
    <button id="go" type="button">Classify</button>
    <span class="hint">Ctrl+Enter classifies too.</span>
  </div>
  <p id="error" role="alert"></p>
  <section id="result" hidden aria-live="polite">
    <p id="verdict"><span id="label"></span> <span id="probability"></span></p>
    <div id="probs"></div>
    <div id="shaded"></div>
    <p class="legend"><span class="key" style="background: rgba(245, 130, 0, .7)"></span> argued for the label
      &nbsp; <span class="key" style="background: rgba(31, 111, 235, .6)"></span> argued against it
      &nbsp; darker: weighed more. <span id="method"></span></p>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const METHODS = {
  occlusion: "Weights by occlusion: how much the label's probability drops without the word.",
  attention: "Weights from the model's attention over the words.",
};

function percent(p) { return (100 * p).toFixed(1) + "%"; }

function showError(message) {
  $("error").textContent = message;
  if (message) $("result").hidden = true;
}

function renderBars(probabilities) {
  const box = $("probs");
  box.replaceChildren();
  const ranked = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  for (const [name, p] of ranked) {
    const row = document.createElement("div");
    row.className = "bar";
    row.dataset.label = name;
    const label = document.createElement("span");
    label.textContent = name;
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = percent(p);
    track.append(fill);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = percent(p);
    row.append(label, track, pct);
    box.append(row);
  }
}

function shade(weight, scale) {
  if (!weight || !scale) return "transparent";
  const alpha = (0.12 + 0.7 * Math.abs(weight) / scale).toFixed(3);
  return weight > 0 ? `rgba(245, 130, 0, ${alpha})` : `rgba(31, 111, 235, ${alpha})`;
}

function renderWords(prediction) {
  // Offsets count characters (code points), as Python does; Array.from splits a string alike.
  const chars = Array.from(prediction.text);
  const box = $("shaded");
  box.replaceChildren();
  const weights = prediction.weights || [];
  const offsets = prediction.offsets || [];
  const scale = Math.max(0, ...weights.map((pair) => Math.abs(pair[1])));
  let cursor = 0;
  weights.forEach(([word, weight], i) => {
    const [start, end] = offsets[i];
    if (start > cursor) box.append(chars.slice(cursor, start).join(""));
    const span = document.createElement("span");
    span.className = "w";
    span.textContent = chars.slice(start, end).join("");
    span.dataset.weight = String(weight);
    span.title = `${word}: ${weight.toFixed(4)}`;
    span.style.backgroundColor = shade(weight, scale);
    box.append(span);
    cursor = Math.max(cursor, end);
  });
  if (cursor < chars.length) box.append(chars.slice(cursor).join(""));
  $("method").textContent = METHODS[prediction.method] || "";
}

function render(prediction) {
  $("label").textContent = prediction.label;
  $("probability").textContent = percent(prediction.probability);
  $("result").dataset.label = prediction.label;
  renderBars(prediction.probabilities);
  renderWords(prediction);
  showError("");
  $("result").hidden = false;
  document.body.dataset.state = "done";
}

async function classify() {
  const text = $("text").value;
  if (!text.trim()) { showError("Type a text first."); return; }
  $("go").disabled = true;
  document.body.dataset.state = "busy";
  try {
    const response = await fetch("predict", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ texts: [text], explain: true }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
    render(body.predictions[0]);
  } catch (error) {
    showError(error.message || String(error));
    document.body.dataset.state = "error";
  } finally {
    $("go").disabled = false;
  }
}

async function describeRun() {
  try {
    const response = await fetch("metadata");
    if (!response.ok) return;
    const m = await response.json();
    const accuracy = m.test_metrics && m.test_metrics.test_accuracy;
    const parts = [m.run_name, m.dataset, m.architecture, m.labels.join(" / ")];
    if (typeof accuracy === "number") parts.push(`test accuracy ${percent(accuracy)}`);
    $("run").textContent = parts.join(" \\u00b7 ");
  } catch (error) { /* the page works without it */ }
}

$("go").addEventListener("click", classify);
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) classify();
});
describeRun();
const given = new URLSearchParams(location.search).get("text");
if (given) { $("text").value = given; classify(); }
</script>
</body>
</html>
"""
