// The explore widget's page: a slider per leaf, the graph and d out / d leaf, redrawn by the
// kernel. A new value is sent only when the previous one has been drawn (the `revision` trait
// moves), so a fast drag sends the latest position rather than queueing every step.

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

function format(x) {
  if (x === null || x === undefined) return "–";
  const text = Number(x).toPrecision(4);
  return String(Number(text));
}

function render({ model, el }) {
  const rows = element("tbody");
  const table = element("table", { class: "mgx-table" },
    element("thead", {}, element("tr", {}, element("th", { text: "leaf" }), element("th", { text: "value" }),
      element("th", { text: "" }), element("th", { text: "d out / d leaf" }))), rows);
  const output = element("span", { testid: "output", class: "mgx-output" });
  const error = element("div", { testid: "error", class: "mgx-error" });
  const note = element("div", { class: "mgx-note" });
  const graph = element("div", { testid: "graph", class: "mgx-graph" });
  const root = element("div", { class: "mgx" },
    element("div", { class: "mgx-head" }, element("span", { text: "out =" }), output), table, error, note, graph);
  el.append(root);

  const controls = {};
  let wanted = null; // values waiting to be sent
  let inFlight = false;
  let timer = null;
  function flush() {
    if (inFlight || wanted === null) return;
    const current = model.get("values");
    const next = { ...current, ...wanted };
    wanted = null;
    if (Object.keys(next).every((name) => next[name] === current[name])) return;
    inFlight = true;
    model.set("values", next);
    model.save_changes();
    clearTimeout(timer);
    timer = setTimeout(() => { inFlight = false; flush(); }, 2000); // never stay stuck
  }
  function propose(name, value) {
    if (!Number.isFinite(value)) return;
    wanted = { ...(wanted || {}), [name]: value };
    flush();
  }

  for (const name of model.get("names")) {
    const [low, high, step] = model.get("ranges")[name];
    const slider = element("input", { type: "range", min: String(low), max: String(high), step: String(step),
      testid: `slider-${name}`, "aria-label": name });
    const number = element("input", { type: "number", step: "any", testid: `value-${name}`, class: "mgx-number" });
    const grad = element("span", { testid: `grad-${name}`, class: "mgx-grad" });
    slider.addEventListener("input", () => { number.value = slider.value; propose(name, Number(slider.value)); });
    number.addEventListener("change", () => propose(name, Number(number.value)));
    rows.append(element("tr", {}, element("td", { class: "mgx-name", text: name }), element("td", {}, number),
      element("td", {}, slider), element("td", {}, grad)));
    controls[name] = { slider, number, grad };
  }

  function draw() {
    const values = model.get("values");
    const grads = model.get("grads");
    for (const [name, { slider, number, grad }] of Object.entries(controls)) {
      const value = values[name];
      if (document.activeElement !== slider) {
        if (value < Number(slider.min)) slider.min = String(value);
        if (value > Number(slider.max)) slider.max = String(value);
        slider.value = String(value);
      }
      if (document.activeElement !== number) number.value = String(value);
      grad.textContent = format(grads[name]);
      grad.dataset.value = String(grads[name]);
    }
    output.textContent = format(model.get("output"));
    output.dataset.value = String(model.get("output"));
    graph.innerHTML = model.get("svg");
    error.textContent = model.get("error");
    error.style.display = model.get("error") ? "block" : "none";
    note.textContent = model.get("note");
    note.style.display = model.get("note") ? "block" : "none";
    root.dataset.revision = String(model.get("revision"));
  }
  const onRevision = () => { inFlight = false; clearTimeout(timer); draw(); flush(); };
  model.on("change:revision", onRevision);
  draw();
  return () => { model.off("change:revision", onRevision); clearTimeout(timer); };
}

export default { render };
