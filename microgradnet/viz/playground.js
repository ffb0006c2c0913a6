// The playground's page: draws what the kernel sends, sends back what the learner chooses.
//
// Every picture is a canvas filled from bytes (one per pixel, 0 is -1 and 255 is +1, coloured
// orange through white to blue); the network's lines are SVG so that each one can be hovered.
// Nothing is computed here but the drawing: the kernel trains, measures and sends each frame.

const ORANGE = [245, 147, 34];
const LIGHT = [232, 234, 235];
const BLUE = [8, 119, 189];
const NEURON = 36; // px: a neuron's picture
const COLUMN = 92; // px between the network's columns, at most (less when space is short)
const NARROWEST = 58; // px between columns, at least
const ROW = 46; // px between neurons of a column
const TOP = 34; // px above the first neuron (room for the layer's buttons)

// A colour per byte value; `strength` below 1 pales the colours (the boundary under the points).
function palette(strength) {
  const table = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const t = i / 127.5 - 1;
    const end = t < 0 ? ORANGE : BLUE;
    const a = Math.abs(t) * strength;
    for (let c = 0; c < 3; c++) table[4 * i + c] = LIGHT[c] + (end[c] - LIGHT[c]) * a;
    table[4 * i + 3] = 255;
  }
  return table;
}
const PALETTE = palette(1);
const PALE = palette(0.7);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "testid") node.dataset.testid = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function svgElement(tag, attributes = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

function bytesOf(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof DataView) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer || value);
}

// Paints `pixels` x `pixels` bytes starting at `offset` onto the whole canvas, smoothly scaled.
function paint(canvas, bytes, offset, pixels, colours = PALETTE) {
  if (bytes.length < offset + pixels * pixels) return;
  const small = document.createElement("canvas");
  small.width = small.height = pixels;
  const image = small.getContext("2d").createImageData(pixels, pixels);
  for (let i = 0; i < pixels * pixels; i++) image.data.set(colours.subarray(4 * bytes[offset + i], 4 * bytes[offset + i] + 4), 4 * i);
  small.getContext("2d").putImageData(image, 0, 0);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
}

function format(x, digits = 3) {
  return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
}

function colourOf(value) {
  return `rgb(${(value >= 0 ? BLUE : ORANGE).join(",")})`;
}

function select(name, values, label, formatter = String) {
  const box = element("select", { testid: name, "aria-label": label });
  box.dataset.values = JSON.stringify(values);
  for (const value of values) box.append(element("option", { value: String(value), text: formatter(value) }));
  return box;
}

function render({ model, el }) {
  const options = model.get("options");
  const send = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const act = (action) => model.send({ action });

  // ----- the top bar -----
  const play = element("button", { testid: "play", class: "mgp-play", title: "play / pause" });
  play.addEventListener("click", () => send("running", !model.get("running")));
  const step = element("button", { testid: "step", title: "train one epoch", text: "step" });
  step.addEventListener("click", () => act("step"));
  const reset = element("button", { testid: "reset", title: "new random weights", text: "reset" });
  reset.addEventListener("click", () => act("reset"));
  const epoch = element("span", { testid: "epoch", class: "mgp-epoch" });
  const lr = select("lr", options.learning_rates, "learning rate");
  const activation = select("activation", options.activations, "activation");
  const init = select("init", options.inits, "initialisation");
  const l2 = select("l2", options.l2_rates, "L2 penalty");
  const optimizer = select("optimizer", options.optimizers, "optimiser");
  const batch = element("input", { testid: "batch_size", type: "range", min: "1", max: "100", "aria-label": "batch size" });
  const batchText = element("span", { class: "mgp-value" });
  const field = (label, control, extra) => element("label", { class: "mgp-field" }, element("span", { text: label }), control, ...(extra ? [extra] : []));
  const top = element("div", { class: "mgp-top" },
    play, step, reset, element("div", { class: "mgp-counter" }, element("span", { text: "Epoch" }), epoch),
    field("Learning rate", lr), field("Activation", activation), field("Init", init),
    field("L2", l2), field("Optimiser", optimizer), field("Batch size", batch, batchText));
  for (const [name, box, parse] of [["lr", lr, Number], ["activation", activation, String], ["init", init, String], ["l2", l2, Number], ["optimizer", optimizer, String]]) {
    box.addEventListener("change", () => send(name, parse(box.value)));
  }
  batch.addEventListener("input", () => { batchText.textContent = batch.value; });
  batch.addEventListener("change", () => send("batch_size", Number(batch.value)));

  // ----- data -----
  const datasetButtons = {};
  const datasets = element("div", { class: "mgp-datasets" });
  for (const name of options.datasets) {
    const button = element("button", { testid: `dataset-${name}`, text: name });
    button.addEventListener("click", () => send("dataset", name));
    datasets.append(button);
    datasetButtons[name] = button;
  }
  const noise = element("input", { testid: "noise", type: "range", min: "0", max: "0.5", step: "0.01", "aria-label": "noise" });
  const noiseText = element("span", { class: "mgp-value" });
  noise.addEventListener("input", () => { noiseText.textContent = noise.value; });
  noise.addEventListener("change", () => send("noise", Number(noise.value)));
  const ratio = element("input", { testid: "train_fraction", type: "range", min: "0.1", max: "0.9", step: "0.1", "aria-label": "training share" });
  const ratioText = element("span", { class: "mgp-value" });
  ratio.addEventListener("input", () => { ratioText.textContent = `${Math.round(ratio.value * 100)}%`; });
  ratio.addEventListener("change", () => send("train_fraction", Number(ratio.value)));
  const regenerate = element("button", { testid: "regenerate", text: "regenerate" });
  regenerate.addEventListener("click", () => act("regenerate"));
  const dataPanel = element("div", { class: "mgp-panel mgp-data" },
    element("h3", { text: "Data" }), datasets,
    element("label", { class: "mgp-slider" }, element("span", { text: "Noise" }), noise, noiseText),
    element("label", { class: "mgp-slider" }, element("span", { text: "Training share" }), ratio, ratioText),
    regenerate);

  // ----- the network -----
  const layersText = element("span", { testid: "layers" });
  const addLayer = element("button", { testid: "add-layer", text: "+", title: "add a hidden layer" });
  const removeLayer = element("button", { testid: "remove-layer", text: "−", title: "remove a hidden layer" });
  const changeHidden = (edit) => { const hidden = [...model.get("hidden")]; edit(hidden); send("hidden", hidden); };
  addLayer.addEventListener("click", () => changeHidden((h) => { if (h.length < options.max_layers) h.push(2); }));
  removeLayer.addEventListener("click", () => changeHidden((h) => { h.pop(); }));
  const weightsToggle = element("button", { testid: "show-weights", text: "weights" });
  const gradsToggle = element("button", { testid: "show-grads", text: "gradients" });
  weightsToggle.addEventListener("click", () => send("show", "weights"));
  gradsToggle.addEventListener("click", () => send("show", "grads"));
  const stage = element("div", { class: "mgp-stage" });
  const lines = svgElement("svg", { class: "mgp-lines" });
  stage.append(lines);
  const netPanel = element("div", { class: "mgp-panel mgp-net" },
    element("div", { class: "mgp-net-head" }, addLayer, removeLayer, layersText,
      element("span", { class: "mgp-toggle" }, element("span", { text: "lines show" }), weightsToggle, gradsToggle)),
    stage);

  // ----- output -----
  const trainLoss = element("span", { testid: "train-loss", class: "mgp-loss" });
  const testLoss = element("span", { testid: "test-loss", class: "mgp-loss" });
  const chart = element("canvas", { testid: "loss-chart", width: "260", height: "70", class: "mgp-chart" });
  const boundary = element("canvas", { testid: "boundary", width: "260", height: "260", class: "mgp-boundary" });
  const showTest = element("input", { type: "checkbox", testid: "show-test" });
  const outPanel = element("div", { class: "mgp-panel mgp-out" },
    element("h3", { text: "Output" }),
    element("div", { class: "mgp-losses" }, element("span", { text: "Test loss" }), testLoss, element("span", { text: "Training loss" }), trainLoss),
    chart, boundary,
    element("label", { class: "mgp-check" }, showTest, element("span", { text: "show test points (ringed)" })),
    element("div", { class: "mgp-legend" }, element("span", { class: "mgp-swatch mgp-orange" }), element("span", { text: "class 0" }), element("span", { class: "mgp-swatch mgp-blue" }), element("span", { text: "class 1" })));
  showTest.addEventListener("change", () => draw());

  const error = element("div", { testid: "error", class: "mgp-error" });
  const tip = element("div", { testid: "tooltip", class: "mgp-tip" });
  const root = element("div", { class: "mgp" }, top, element("div", { class: "mgp-main" }, dataPanel, netPanel, outPanel), error, tip);
  el.append(root);
  root.dataset.frames = "0";

  // ----- the network's shape: rebuilt when the layer sizes change -----
  let shape = "";
  let canvases = [];
  let edges = [];
  let biases = [];
  let spacing = COLUMN;
  let builtWidth = 0;
  function position(column, index, count, tallest) {
    const offset = ((tallest - count) * ROW) / 2;
    return { x: 10 + column * spacing, y: TOP + offset + index * ROW };
  }
  function showTip(event, text) {
    tip.textContent = text;
    tip.style.display = "block";
    const box = root.getBoundingClientRect();
    tip.style.left = `${event.clientX - box.left + 14}px`;
    tip.style.top = `${event.clientY - box.top + 10}px`;
  }
  function hideTip() { tip.style.display = "none"; }
  function buildNetwork(sizes) {
    shape = sizes.join(",");
    stage.replaceChildren(lines);
    lines.replaceChildren();
    canvases = []; edges = []; biases = [];
    const tallest = Math.max(...sizes);
    builtWidth = netPanel.clientWidth;
    const room = (builtWidth - 24 - NEURON) / (sizes.length - 1);
    spacing = Math.max(NARROWEST, Math.min(COLUMN, room || COLUMN));
    const width = 20 + (sizes.length - 1) * spacing + NEURON;
    const height = TOP + tallest * ROW;
    stage.style.width = `${width}px`;
    stage.style.height = `${height}px`;
    lines.setAttribute("width", width);
    lines.setAttribute("height", height);
    const hidden = model.get("hidden");
    sizes.forEach((count, column) => {
      for (let i = 0; i < count; i++) {
        const { x, y } = position(column, i, count, tallest);
        const canvas = element("canvas", { width: String(NEURON), height: String(NEURON), class: "mgp-neuron", testid: `neuron-${column}-${i}` });
        canvas.style.left = `${x}px`;
        canvas.style.top = `${y}px`;
        stage.append(canvas);
        canvases.push(canvas);
        if (column > 0) {
          canvas.addEventListener("mousemove", (event) => {
            const b = biases[column - 1][i];
            showTip(event, `bias ${format(b.value(), 4)}\ngradient ${format(b.grad(), 4)}`);
          });
          canvas.addEventListener("mouseleave", hideTip);
          biases[column - 1] = biases[column - 1] || [];
          biases[column - 1][i] = {
            value: () => model.get("weights")[column - 1][i][sizes[column - 1]],
            grad: () => model.get("grads")[column - 1][i][sizes[column - 1]],
          };
        } else {
          const name = element("span", { class: "mgp-name", text: `x${i}` });
          name.style.left = `${x - 4}px`;
          name.style.top = `${y + NEURON}px`;
          stage.append(name);
        }
      }
      if (column > 0 && column < sizes.length - 1) {
        const { x } = position(column, 0, count, tallest);
        const head = element("div", { class: "mgp-layer-head" });
        head.style.left = `${x - 12}px`;
        const more = element("button", { text: "+", testid: `add-neuron-${column}`, title: "add a neuron" });
        const fewer = element("button", { text: "−", testid: `remove-neuron-${column}`, title: "remove a neuron" });
        more.addEventListener("click", () => changeHidden((h) => { h[column - 1] = Math.min(options.max_neurons, h[column - 1] + 1); }));
        fewer.addEventListener("click", () => changeHidden((h) => { h[column - 1] = Math.max(1, h[column - 1] - 1); }));
        head.append(more, fewer, element("span", { text: `${hidden[column - 1]}` }));
        stage.append(head);
      }
    });
    for (let layer = 0; layer < sizes.length - 1; layer++) {
      for (let j = 0; j < sizes[layer + 1]; j++) {
        for (let i = 0; i < sizes[layer]; i++) {
          const a = position(layer, i, sizes[layer], tallest);
          const b = position(layer + 1, j, sizes[layer + 1], tallest);
          const ends = { x1: a.x + NEURON, y1: a.y + NEURON / 2, x2: b.x, y2: b.y + NEURON / 2 };
          const line = svgElement("line", { ...ends, class: "mgp-edge" });
          const hit = svgElement("line", { ...ends, class: "mgp-hit" });
          hit.dataset.testid = `edge-${layer}-${j}-${i}`;
          const from = layer === 0 ? `x${i}` : `neuron ${layer}.${i}`;
          const to = layer === sizes.length - 2 ? "the output" : `neuron ${layer + 1}.${j}`;
          hit.addEventListener("mousemove", (event) => {
            const w = model.get("weights")[layer][j][i];
            const g = model.get("grads")[layer][j][i];
            showTip(event, `weight ${format(w, 4)}\ngradient ${format(g, 4)}\n${from} → ${to}`);
            tip.dataset.weight = String(w);
            tip.dataset.grad = String(g);
          });
          hit.addEventListener("mouseleave", hideTip);
          lines.append(line);
          edges.push({ line, layer, j, i });
          lines.append(hit);
        }
      }
    }
    layersText.textContent = `${sizes.length - 2} hidden layer${sizes.length === 3 ? "" : "s"}`;
  }

  // ----- drawing a frame -----
  function drawEdges() {
    const showGrads = model.get("show") === "grads";
    const table = model.get(showGrads ? "grads" : "weights");
    let largest = 1e-12;
    if (showGrads) for (const e of edges) largest = Math.max(largest, Math.abs(table[e.layer][e.j][e.i] || 0));
    for (const e of edges) {
      const value = table[e.layer][e.j][e.i] || 0;
      const width = showGrads ? 0.5 + (6 * Math.abs(value)) / largest : Math.min(8, 0.5 + 2.5 * Math.abs(value));
      e.line.setAttribute("stroke", colourOf(value));
      e.line.setAttribute("stroke-width", width.toFixed(2));
    }
    weightsToggle.classList.toggle("mgp-on", !showGrads);
    gradsToggle.classList.toggle("mgp-on", showGrads);
  }
  function drawPoints() {
    const context = boundary.getContext("2d");
    const [lo, hi] = options.domain;
    const scale = boundary.width / (hi - lo);
    const withTest = showTest.checked;
    for (const [x0, x1, label, isTest] of model.get("points")) {
      if (isTest && !withTest) continue;
      context.beginPath();
      context.arc((x0 - lo) * scale, (hi - x1) * scale, 3.2, 0, 2 * Math.PI);
      context.fillStyle = colourOf(label ? 1 : -1);
      context.fill();
      context.lineWidth = isTest ? 1.6 : 1;
      context.strokeStyle = isTest ? "#111" : "#fff";
      context.stroke();
    }
  }
  function drawChart() {
    const rows = model.get("loss_chart");
    const context = chart.getContext("2d");
    context.clearRect(0, 0, chart.width, chart.height);
    chart.dataset.points = String(rows.length);
    if (rows.length < 2) return;
    let top = 1e-12;
    for (const [, a, b] of rows) top = Math.max(top, a || 0, b || 0);
    const first = rows[0][0];
    const span = Math.max(1, rows[rows.length - 1][0] - first);
    for (const [column, colour] of [[1, "#9ca3af"], [2, "#111827"]]) {
      context.beginPath();
      rows.forEach((row, k) => {
        const x = ((row[0] - first) / span) * (chart.width - 2) + 1;
        const y = chart.height - 2 - ((row[column] || 0) / top) * (chart.height - 6);
        if (k === 0) context.moveTo(x, y); else context.lineTo(x, y);
      });
      context.strokeStyle = colour;
      context.lineWidth = 1.5;
      context.stroke();
    }
  }
  function syncControls() {
    play.textContent = model.get("running") ? "❚❚ pause" : "▶ play";
    play.classList.toggle("mgp-on", model.get("running"));
    const pairs = [[lr, "lr"], [activation, "activation"], [init, "init"], [l2, "l2"], [optimizer, "optimizer"]];
    for (const [box, name] of pairs) {
      const value = String(model.get(name));
      if (![...box.options].some((o) => o.value === value)) box.append(element("option", { value, text: value }));
      if (document.activeElement !== box) box.value = value;
    }
    batch.max = String(Math.max(1, model.get("points").filter((p) => !p[3]).length));
    if (document.activeElement !== batch) batch.value = String(model.get("batch_size"));
    batchText.textContent = String(model.get("batch_size"));
    if (document.activeElement !== noise) noise.value = String(model.get("noise"));
    noiseText.textContent = Number(model.get("noise")).toFixed(2);
    if (document.activeElement !== ratio) ratio.value = String(model.get("train_fraction"));
    ratioText.textContent = `${Math.round(model.get("train_fraction") * 100)}%`;
    for (const [name, button] of Object.entries(datasetButtons)) button.classList.toggle("mgp-on", name === model.get("dataset"));
    removeLayer.disabled = model.get("hidden").length === 0;
    addLayer.disabled = model.get("hidden").length >= options.max_layers;
  }
  function draw() {
    const sizes = model.get("layer_sizes");
    if (!sizes.length) return;
    if (sizes.join(",") !== shape) buildNetwork(sizes);
    syncControls();
    epoch.textContent = String(model.get("epoch"));
    for (const [span, name] of [[trainLoss, "train_loss"], [testLoss, "test_loss"]]) {
      span.textContent = format(model.get(name));
      span.dataset.value = String(model.get(name));
    }
    paint(boundary, bytesOf(model.get("boundary")), 0, options.boundary_pixels, PALE);
    drawPoints();
    const neurons = bytesOf(model.get("neurons"));
    const size = options.neuron_pixels * options.neuron_pixels;
    canvases.forEach((canvas, k) => paint(canvas, neurons, k * size, options.neuron_pixels));
    drawEdges();
    drawChart();
    error.textContent = model.get("error");
    error.style.display = model.get("error") ? "block" : "none";
    root.dataset.frames = String(Number(root.dataset.frames) + 1);
  }

  let pending = false;
  const schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  };
  const names = ["epoch", "train_loss", "test_loss", "loss_chart", "points", "layer_sizes", "weights", "grads",
    "boundary", "neurons", "error", "show", "running", "lr", "activation", "init", "l2", "optimizer",
    "batch_size", "noise", "train_fraction", "dataset", "hidden"];
  for (const name of names) model.on(`change:${name}`, schedule);
  // the network's columns fit the panel: redrawn when its width changes
  const resized = new ResizeObserver(() => {
    if (Math.abs(netPanel.clientWidth - builtWidth) > 16) { shape = ""; schedule(); }
  });
  resized.observe(netPanel);
  draw();
  return () => {
    resized.disconnect();
    for (const name of names) model.off(`change:${name}`, schedule);
  };
}

export default { render };
