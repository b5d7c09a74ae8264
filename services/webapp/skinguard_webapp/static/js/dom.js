// Element building without innerHTML: every text goes in as text, never as markup.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") element.textContent = value;
    else if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

// A labelled form field: <label>text <input></label> keeps every control named for assistive tech.
export function field(labelText, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "field-label", text: labelText }), control,
    hint ? h("span", { class: "hint", text: hint }) : null);
}

export function table(headers, rows, caption) {
  return h("table", {},
    caption ? h("caption", { text: caption }) : null,
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col", text })))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell))))));
}

export function formatNumber(value, digits = 3) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

export function formatDate(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function shortId(id) {
  return String(id).slice(0, 8);
}

export function say(message, kind = "info") {
  const status = document.getElementById("status");
  status.className = `status ${kind}`;
  status.textContent = message;
}

export function errorBox(error) {
  return h("p", { class: "error", role: "alert", text: error.message || String(error) });
}

// A link between screens: a real <a href> (new tab, copy link) that navigates without a reload.
export function link(path, text, navigate, attrs = {}) {
  return h("a", { ...attrs, href: path, onclick: (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(path);
  } }, text);
}
