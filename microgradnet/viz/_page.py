"""The player's page: one self-contained HTML file (inline SVG, CSS and JavaScript).

The script steps through the frames that :mod:`microgradnet.viz._player` computes, reading them
from a JSON block in the page: no network, no server.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

__all__ = ["iframe_height", "page"]


def iframe_height(svg: str) -> int:
    """Pixels for an inline frame showing the page: the graph (at most 640) plus the controls."""
    match = re.search(r'height="([\d.]+)pt"', svg)
    graph = float(match.group(1)) * 4 / 3 if match else 400.0
    return int(min(graph, 640.0) + 260)


def page(title: str, svg: str, data: dict[str, Any]) -> str:
    """The page for a graph drawn as ``svg`` and its frames.

    Args:
        title: the page's title and heading (escaped here).
        svg: the graph with every gradient final, its elements' ids the DOT names (``n3``,
            ``n3op``, ``n3in0``).
        data: ``{"frames": [...], "grads": {id: "grad 0.5", ...}}``, one frame per step:
            ``{"node": id, "op": id or None, "inputs": [ids], "edges": [ids], "caption": html}``.
    """
    # Inside a <script> block only "</script" or "<!--" could end or confuse it: no "<" is left
    # (JSON reads the escape back as the same character).
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    pieces = {"TITLE": html.escape(title), "SVG": svg, "DATA": payload}
    # One pass over the template: what is put in is never searched for placeholders, so a title
    # or a label reading "%%SVG%%" stays that text.
    return _PLACEHOLDER.sub(lambda match: pieces[match.group(1)], _TEMPLATE)


_PLACEHOLDER = re.compile(r"%%(TITLE|SVG|DATA)%%")
_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%%TITLE%%</title>
<style>
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
         margin: 16px; color: #111827; background: #fff; }
  h1 { font-size: 18px; margin: 0 0 10px; }
  #mg-controls { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  #mg-controls button { font: inherit; padding: 4px 12px; border: 1px solid #9ca3af;
         border-radius: 6px; background: #f9fafb; cursor: pointer; }
  #mg-controls button:disabled { opacity: 0.4; cursor: default; }
  #mg-slider { flex: 1; min-width: 160px; }
  #mg-counter { min-width: 110px; text-align: right; font-variant-numeric: tabular-nums; }
  #mg-caption { margin: 10px 0; padding: 8px 12px; background: #f8fafc; border-left: 4px solid
         #dc2626; min-height: 5.5em; }
  #mg-caption ul { margin: 4px 0 0; padding-left: 20px; }
  #mg-caption li { font-variant-numeric: tabular-nums; }
  #mg-graph { overflow: auto; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; }
  #mg-graph svg { max-width: 100%; height: auto; }
  #mg-legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 13px; margin-top: 8px;
         color: #374151; }
  .mg-swatch { display: inline-block; width: 14px; height: 14px; vertical-align: -2px;
         margin-right: 4px; border: 2px solid; border-radius: 3px; }
  g.node.mg-pending text { fill: #6b7280; }
  g.node.mg-current > polygon, g.node.mg-current > path { stroke: #dc2626; stroke-width: 4px; }
  g.node.mg-receiving > polygon { stroke: #ea580c; stroke-width: 2.5px;
         stroke-dasharray: 6 3; }
  g.node.mg-flow > ellipse { stroke: #dc2626; stroke-width: 2.5px; }
  g.edge.mg-flow > path { stroke: #dc2626; stroke-width: 2.5px; }
  g.edge.mg-flow > polygon { stroke: #dc2626; fill: #dc2626; }
</style>
</head>
<body>
<h1>%%TITLE%%</h1>
<div id="mg-controls">
  <button id="mg-first" type="button" title="First step (Home)">« First</button>
  <button id="mg-back" type="button" title="Back one step (←)">◀ Back</button>
  <button id="mg-play" type="button" title="Play or pause (space)">▶ Play</button>
  <button id="mg-step" type="button" title="Step forward (→)">Step ▶</button>
  <button id="mg-last" type="button" title="Last step (End)">Last »</button>
  <input id="mg-slider" type="range" min="0" value="0" step="1" aria-label="Step">
  <span id="mg-counter"></span>
</div>
<div id="mg-caption" aria-live="polite"></div>
<div id="mg-graph">%%SVG%%</div>
<div id="mg-legend">
  <span><i class="mg-swatch" style="background:#dcfce7;border-color:#15803d"></i>output</span>
  <span><i class="mg-swatch" style="background:#f3f4f6;border-color:#4b5563"></i>intermediate</span>
  <span><i class="mg-swatch" style="background:#dbeafe;border-color:#1d4ed8"></i>input</span>
  <span><i class="mg-swatch" style="background:#fef3c7;border-color:#b45309"></i>parameter</span>
  <span><i class="mg-swatch" style="background:#fff;border-color:#dc2626"></i>processing now</span>
  <span><i class="mg-swatch" style="background:#fff;border-color:#ea580c;border-style:dashed">
    </i>receiving gradient</span>
  <span>grad ? = not final yet</span>
</div>
<script type="application/json" id="mg-data">%%DATA%%</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("mg-data").textContent);
  var frames = data.frames;
  var byId = function (id) { return document.getElementById(id); };
  var slider = byId("mg-slider"), counter = byId("mg-counter"), caption = byId("mg-caption");
  var playButton = byId("mg-play");
  var order = frames.map(function (f) { return f.node; });
  var gradText = {};
  order.forEach(function (id) {
    byId(id).querySelectorAll("text").forEach(function (t) {
      if (t.textContent.indexOf("grad ") === 0) { gradText[id] = t; }
    });
  });
  var index = 0, timer = null;
  slider.max = String(frames.length - 1);

  function show(k) {
    index = Math.max(0, Math.min(frames.length - 1, k));
    var frame = frames[index];
    order.forEach(function (id, position) {
      var node = byId(id), done = position <= index;
      node.classList.toggle("mg-done", done);
      node.classList.toggle("mg-pending", !done);
      node.classList.remove("mg-current", "mg-receiving");
      if (gradText[id]) { gradText[id].textContent = done ? data.grads[id] : "grad ?"; }
    });
    document.querySelectorAll(".mg-flow").forEach(function (el) {
      el.classList.remove("mg-flow");
    });
    byId(frame.node).classList.add("mg-current");
    if (frame.op) { byId(frame.op).classList.add("mg-flow"); }
    frame.inputs.forEach(function (id) { byId(id).classList.add("mg-receiving"); });
    frame.edges.forEach(function (id) { byId(id).classList.add("mg-flow"); });
    caption.innerHTML = frame.caption;
    slider.value = String(index);
    counter.textContent = "Step " + (index + 1) + " of " + frames.length;
    byId("mg-back").disabled = byId("mg-first").disabled = index === 0;
    byId("mg-step").disabled = byId("mg-last").disabled = index === frames.length - 1;
    document.body.setAttribute("data-frame", String(index));
  }

  function pause() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    playButton.textContent = "▶ Play";
  }
  function play() {
    if (index === frames.length - 1) { show(0); }
    playButton.textContent = "⏸ Pause";
    timer = setInterval(function () {
      if (index >= frames.length - 1) { pause(); } else { show(index + 1); }
    }, 900);
  }
  function toggle() { if (timer === null) { play(); } else { pause(); } }

  byId("mg-first").addEventListener("click", function () { pause(); show(0); });
  byId("mg-back").addEventListener("click", function () { pause(); show(index - 1); });
  byId("mg-step").addEventListener("click", function () { pause(); show(index + 1); });
  byId("mg-last").addEventListener("click", function () { pause(); show(frames.length - 1); });
  playButton.addEventListener("click", toggle);
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider || event.altKey || event.ctrlKey || event.metaKey) { return; }
    var moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0,
                  End: frames.length - 1 };
    if (event.key in moves) { pause(); show(moves[event.key]); event.preventDefault(); }
    else if (event.key === " ") { toggle(); event.preventDefault(); }
  });
  show(0);
})();
</script>
</body>
</html>
"""
