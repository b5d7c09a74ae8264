// Sign-in: a person's API key becomes an HttpOnly session cookie; the key is not kept in the page.

import { api } from "../api.js";
import { field, h, replace } from "../dom.js";

export function render(root, { next }) {
  const key = h("input", { type: "password", name: "api_key", id: "api-key", autocomplete: "off", required: true, spellcheck: "false" });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const form = h("form", { class: "card narrow", onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    try {
      await api("/session", { method: "POST", json: { api_key: key.value.trim() } });
      key.value = "";
      location.assign(next === "/" ? "/" : next);
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
      key.focus();
    }
  } },
  h("h1", { text: "Sign in to SkinGuard" }),
  field("API key", key, "Your personal key (sg_…). It stays on the server; this browser keeps only a session cookie."),
  problem,
  h("button", { type: "submit", text: "Sign in" }));
  replace(root, form);
  key.focus();
}
