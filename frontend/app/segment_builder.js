// The segment builder: edits the rule JSON (nested AND / OR groups, NOT, typed conditions) in the page, keeps it
// in a hidden input for saving, and asks the server for the live count after each change (debounced).
// Everything it shows comes from the condition catalog the page embeds (labels are translated server-side).

const DEBOUNCE_MS = 350;
const NO_VALUE = new Set(["empty", "not_empty", "is_true", "is_false"]);
const DAY_OPS = new Set(["within_last_days", "not_within_last_days", "within_next_days"]);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "value") node.value = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function select(options, value, onchange, attrs = {}) {
  const node = el("select", { class: "form-select form-select-sm", ...attrs, onchange: (e) => onchange(e.target.value) });
  for (const option of options) node.append(el("option", { value: option.value, selected: String(option.value) === String(value) }, option.label));
  return node;
}

class SegmentBuilder {
  constructor(root) {
    this.root = root;
    this.form = root.closest("form");
    this.t = root.dataset;
    this.catalog = JSON.parse(document.getElementById(root.dataset.catalog).textContent);
    this.byKey = Object.fromEntries(this.catalog.map((entry) => [entry.key, entry]));
    this.labels = JSON.parse(document.getElementById(root.dataset.labels).textContent);
    this.rule = JSON.parse(document.getElementById(root.dataset.rule).textContent) || {};
    if (!this.rule.root) this.rule = { version: 1, root: { kind: "group", match: "all", negate: false, children: [] } };
    this.input = this.form.querySelector("[data-segment-rule-input]");
    this.preview = this.form.querySelector("[data-segment-preview]");
    this.subjectSelect = this.form.querySelector("[data-segment-subject]");
    this.subjectSelect?.addEventListener("change", () => this.render());
    this.sequence = 0;
    this.render();
  }

  subject() {
    return this.form.querySelector("[name=subject]:not([disabled])")?.value || this.subjectSelect?.value || "company";
  }

  render() {
    this.root.replaceChildren(this.group(this.rule.root, null));
    this.changed();
  }

  changed() {
    this.input.value = JSON.stringify(this.rule);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refreshPreview(), DEBOUNCE_MS);
  }

  async refreshPreview() {
    const body = new FormData();
    body.append("csrfmiddlewaretoken", this.form.querySelector("[name=csrfmiddlewaretoken]").value);
    body.append("rule", this.input.value);
    body.append("subject", this.subject());
    const sent = ++this.sequence;
    try {
      const response = await fetch(this.form.dataset.previewUrl, { method: "POST", body, credentials: "same-origin" });
      if (sent !== this.sequence) return; // a newer request is on its way
      this.preview.innerHTML = await response.text();
    } catch {
      /* offline: keep the last count */
    }
  }

  // --- groups ---------------------------------------------------------------------------------------------------

  group(node, parent) {
    const box = el("div", { class: `seg-group${node.negate ? " seg-negated" : ""}`, "data-testid": "segment-group" });
    const header = el(
      "div",
      { class: "seg-group-header" },
      select(
        [
          { value: "all", label: this.t.tAll },
          { value: "any", label: this.t.tAny },
        ],
        node.match,
        (value) => {
          node.match = value;
          this.changed();
        },
        { "aria-label": this.t.tAll, "data-testid": "group-match" },
      ),
      el(
        "label",
        { class: "form-check-label small seg-not" },
        el("input", {
          type: "checkbox",
          class: "form-check-input me-1",
          checked: node.negate,
          onchange: (e) => {
            node.negate = e.target.checked;
            box.classList.toggle("seg-negated", node.negate);
            this.changed();
          },
        }),
        this.t.tNot,
      ),
      parent ? this.removeButton(parent, node) : null,
    );
    const list = el("div", { class: "seg-children" });
    if (!node.children.length) list.append(el("p", { class: "small text-secondary mb-1" }, this.t.tEmpty));
    for (const child of node.children) list.append(child.kind === "group" ? this.group(child, node) : this.condition(child, node));
    const add = el("select", {
      class: "form-select form-select-sm seg-add",
      "data-testid": "add-condition",
      "aria-label": this.t.tAdd,
      onchange: (e) => {
        const entry = this.byKey[e.target.value];
        if (!entry) return;
        node.children.push({ kind: "condition", type: entry.key, config: structuredClone(entry.defaults || {}) });
        this.render();
      },
    });
    add.append(el("option", { value: "" }, `+ ${this.t.tAdd}`));
    const sections = new Map();
    for (const entry of this.catalog) {
      if (!entry.subjects.includes(this.subject())) continue;
      if (!sections.has(entry.section)) sections.set(entry.section, el("optgroup", { label: entry.section }));
      sections.get(entry.section).append(el("option", { value: entry.key }, entry.label));
    }
    add.append(...sections.values());
    const addGroup = el(
      "button",
      {
        type: "button",
        class: "btn btn-sm btn-outline-secondary",
        "data-testid": "add-group",
        onclick: () => {
          node.children.push({ kind: "group", match: "any", negate: false, children: [] });
          this.render();
        },
      },
      `+ ${this.t.tAddGroup}`,
    );
    box.append(header, list, el("div", { class: "seg-group-footer" }, add, addGroup));
    return box;
  }

  removeButton(parent, node) {
    return el(
      "button",
      {
        type: "button",
        class: "btn btn-sm btn-link text-danger seg-remove",
        "aria-label": this.t.tRemove,
        onclick: () => {
          parent.children.splice(parent.children.indexOf(node), 1);
          this.render();
        },
      },
      "×",
    );
  }

  // --- conditions -------------------------------------------------------------------------------------------------

  condition(node, parent) {
    const entry = this.byKey[node.type];
    const box = el("div", { class: "seg-condition", "data-testid": "segment-condition", "data-type": node.type });
    const body = el("div", { class: "seg-inputs" });
    const redraw = () => {
      body.replaceChildren(...this.inputs(entry, node.config, redraw));
      this.changed();
    };
    body.replaceChildren(...(entry ? this.inputs(entry, node.config, redraw) : []));
    box.append(
      el("div", { class: "seg-condition-header" }, el("span", { class: "seg-label" }, entry ? entry.label : node.type), this.removeButton(parent, node)),
      body,
    );
    return box;
  }

  inputs(entry, config, redraw) {
    const out = [];
    for (const spec of entry.inputs || []) {
      if (spec.show_if && !Object.entries(spec.show_if).every(([k, v]) => config[k] === v)) continue;
      out.push(this.input_(spec, entry, config, redraw));
    }
    return out;
  }

  set(config, name, value, redraw) {
    config[name] = value;
    if (redraw) redraw();
    else this.changed();
  }

  input_(spec, entry, config, redraw) {
    const label = spec.label ? el("span", { class: "small text-secondary" }, spec.label) : null;
    switch (spec.type) {
      case "select":
        return select(spec.options, config[spec.name], (v) => this.set(config, spec.name, v, redraw), { "data-name": spec.name });
      case "number":
        return el(
          "label",
          { class: "seg-inline" },
          label,
          el("input", {
            type: "number",
            class: "form-control form-control-sm seg-number",
            min: spec.min,
            value: config[spec.name] ?? "",
            "data-name": spec.name,
            oninput: (e) => this.set(config, spec.name, e.target.value === "" ? (spec.optional ? null : e.target.value) : Number(e.target.value)),
          }),
        );
      case "text":
        return el(
          "label",
          { class: "seg-inline" },
          label,
          el("input", {
            type: "text",
            class: "form-control form-control-sm",
            value: config[spec.name] ?? "",
            "data-name": spec.name,
            oninput: (e) => this.set(config, spec.name, e.target.value),
          }),
        );
      case "period":
        return this.period(config, spec.name, redraw);
      case "products":
      case "categories":
        return this.picker(spec, config);
      case "tags":
        return this.multi(
          Object.entries(this.labels.tags || {}).map(([value, text]) => ({ value, label: text })),
          (config[spec.name] || []).map(String),
          (values) => this.set(config, spec.name, values.map(Number)),
        );
      case "rfm":
        return this.rfm(entry, config);
      case "fov":
        return this.fieldOpValue(spec, entry, config, redraw);
      default:
        return el("span");
    }
  }

  multi(options, chosen, onchange) {
    const node = el("select", { class: "form-select form-select-sm seg-multi", multiple: true, size: Math.min(6, Math.max(3, options.length)) });
    for (const option of options) node.append(el("option", { value: option.value, selected: chosen.includes(String(option.value)) }, option.label));
    node.addEventListener("change", () => onchange([...node.selectedOptions].map((o) => o.value)));
    return node;
  }

  period(config, name, redraw) {
    const period = config[name] || (config[name] = { kind: "any_time" });
    const kinds = this.catalogPeriodKinds();
    const parts = [select(kinds, period.kind, (v) => {
      config[name] = { kind: v, ...(v === "last_days" ? { days: 30 } : {}), ...(v === "between" ? { start: "", end: "" } : {}) };
      redraw();
    }, { "data-name": "period" })];
    if (period.kind === "last_days") {
      parts.push(el("input", {
        type: "number", min: 1, class: "form-control form-control-sm seg-number", value: period.days ?? "", "data-name": "period-days",
        oninput: (e) => { period.days = e.target.value === "" ? null : Number(e.target.value); this.changed(); },
      }), el("span", { class: "small" }, this.t.tDays));
    }
    if (period.kind === "between") {
      for (const key of ["start", "end"]) {
        parts.push(el("input", {
          type: "date", class: "form-control form-control-sm seg-date", value: period[key] || "",
          oninput: (e) => { period[key] = e.target.value || null; this.changed(); },
        }));
      }
    }
    return el("span", { class: "seg-inline" }, parts);
  }

  catalogPeriodKinds() {
    return JSON.parse(this.root.dataset.periods || "null") || [
      { value: "any_time", label: "any_time" },
    ];
  }

  picker(spec, config) {
    const kind = spec.type; // products | categories
    const chosen = config[spec.name] || (config[spec.name] = []);
    const chips = el("span", { class: "seg-chips" });
    const drawChips = () => {
      chips.replaceChildren(
        ...chosen.map((id) =>
          el("span", { class: "badge text-bg-light seg-chip" }, this.labels[kind]?.[id] || `#${id}`,
            el("button", { type: "button", class: "btn-close btn-close-sm ms-1", "aria-label": this.t.tRemove, onclick: () => {
              chosen.splice(chosen.indexOf(id), 1);
              drawChips();
              this.changed();
            } })),
        ),
      );
    };
    drawChips();
    const results = el("div", { class: "seg-results list-group", hidden: true });
    const search = el("input", {
      type: "search",
      class: "form-control form-control-sm seg-search",
      placeholder: `${spec.label || ""} ${this.t.tSearch}`.trim(),
      "data-testid": `${kind}-search`,
      oninput: () => {
        clearTimeout(search.timer);
        search.timer = setTimeout(async () => {
          const url = kind === "products" ? this.form.dataset.productUrl : this.form.dataset.categoryUrl;
          const response = await fetch(`${url}?q=${encodeURIComponent(search.value)}`, { credentials: "same-origin" });
          const data = await response.json();
          results.replaceChildren(
            ...data.results.map((item) =>
              el("button", { type: "button", class: "list-group-item list-group-item-action small", onclick: () => {
                if (!chosen.includes(item.id)) chosen.push(item.id);
                (this.labels[kind] ||= {})[item.id] = item.label;
                results.hidden = true;
                search.value = "";
                drawChips();
                this.changed();
              } }, item.label),
            ),
          );
          results.hidden = !data.results.length;
        }, 250);
      },
    });
    return el("div", { class: "seg-picker" }, chips, search, results);
  }

  rfm(entry, config) {
    const parts = [];
    for (const axis of ["r", "f", "m"]) {
      const chosen = config[axis] || (config[axis] = []);
      const boxes = [1, 2, 3, 4, 5].map((rank) =>
        el("label", { class: "form-check form-check-inline small" },
          el("input", { type: "checkbox", class: "form-check-input", checked: chosen.includes(rank), onchange: (e) => {
            if (e.target.checked) chosen.push(rank);
            else chosen.splice(chosen.indexOf(rank), 1);
            this.changed();
          } }), `${axis.toUpperCase()}${rank}`),
      );
      parts.push(el("div", {}, ...boxes));
    }
    const level = this.subject();
    const groups = (entry.groups?.[level] || []).map((name) => ({ value: name, label: name }));
    parts.push(el("label", { class: "seg-inline small" }, this.t.tGroup,
      select([{ value: "", label: this.t.tNone }, ...groups], config.group || "", (v) => this.set(config, "group", v))));
    return el("div", {}, ...parts);
  }

  fieldOpValue(spec, entry, config, redraw) {
    const fields = entry.fields || [];
    const isCustom = spec.field === "custom";
    const keyOf = (f) => (isCustom ? `${f.entity}:${f.value}` : f.value);
    const current = isCustom ? `${config.entity}:${config.key}` : config[spec.field];
    let field = fields.find((f) => keyOf(f) === current);
    if (!field && fields.length) {
      field = fields[0];
      if (isCustom) Object.assign(config, { entity: field.entity, key: field.value });
      else config[spec.field] = field.value;
    }
    if (!field) return el("span", { class: "small text-secondary" }, "—");
    if (!field.operators.some((o) => o.value === config.op)) config.op = field.operators[0].value;
    const fieldSelect = select(fields.map((f) => ({ value: keyOf(f), label: f.label })), keyOf(field), (v) => {
      const next = fields.find((f) => keyOf(f) === v);
      if (isCustom) Object.assign(config, { entity: next.entity, key: next.value });
      else config[spec.field] = next.value;
      config.op = next.operators[0].value;
      delete config.value;
      redraw();
    }, { "data-name": "field" });
    const opSelect = select(field.operators, config.op, (v) => {
      config.op = v;
      delete config.value;
      redraw();
    }, { "data-name": "op" });
    return el("span", { class: "seg-inline" }, fieldSelect, opSelect, this.value(field, config));
  }

  value(field, config) {
    const op = config.op;
    if (NO_VALUE.has(op)) return null;
    const update = (value) => { config.value = value; this.changed(); };
    if (DAY_OPS.has(op)) {
      return el("span", { class: "seg-inline" }, el("input", {
        type: "number", min: 1, class: "form-control form-control-sm seg-number", value: config.value ?? "", "data-name": "value",
        oninput: (e) => update(e.target.value === "" ? null : Number(e.target.value)),
      }), el("span", { class: "small" }, this.t.tDays));
    }
    if (op === "in" || op === "not_in") {
      if (field.choices.length) return this.multi(field.choices, (config.value || []).map(String), update);
    }
    const type = field.kind === "number" ? "number" : field.kind === "date" ? "date" : "text";
    const one = (value, oninput) => el("input", { type, class: `form-control form-control-sm seg-${type}`, value: value ?? "", "data-name": "value", oninput });
    if (op === "between") {
      const pair = Array.isArray(config.value) ? config.value : (config.value = ["", ""]);
      return el("span", { class: "seg-inline" },
        one(pair[0], (e) => { pair[0] = e.target.value; this.changed(); }), this.t.tTo,
        one(pair[1], (e) => { pair[1] = e.target.value; this.changed(); }));
    }
    if (op === "in" || op === "not_in") {
      return one((config.value || []).join(","), (e) => update(e.target.value.split(",").map((s) => s.trim()).filter(Boolean)));
    }
    return one(config.value, (e) => update(e.target.value));
  }
}

function initSegmentBuilders(root) {
  root.querySelectorAll("[data-segment-builder]").forEach((node) => {
    if (node.dataset.bound) return;
    node.dataset.bound = "1";
    node.builder = new SegmentBuilder(node);
  });
}

document.addEventListener("DOMContentLoaded", () => initSegmentBuilders(document));
