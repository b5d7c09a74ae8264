// The page's shell: who is signed in, the navigation their role allows, and the screen for the URL.

import { api, ApiError, setCsrfToken } from "./api.js";
import { h, link, replace, say } from "./dom.js";

const main = document.getElementById("screen");
let session = null;
let cleanup = null;

function localPath(candidate) {
  // Only a path of this app: never another origin ("//evil", "https://...").
  return candidate && candidate.startsWith("/") && !candidate.startsWith("//") ? candidate : "/";
}

export function navigate(path) {
  history.pushState({}, "", path);
  route();
}

function renderShell() {
  document.getElementById("top").hidden = false;
  const nav = document.getElementById("nav");
  const current = location.pathname.split("/")[1];
  replace(nav, session.screens.map((screen) =>
    h("li", {}, link(`/${screen.path}`, screen.title, navigate, { "aria-current": screen.path === current ? "page" : null }))));
  replace(document.getElementById("who"), `${session.user.name} (${session.user.role})`);
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  say("");
  const [, screen, ...rest] = location.pathname.split("/");
  if (screen === "sign-in") {
    document.getElementById("top").hidden = true;
    const { render } = await import("./screens/signin.js");
    render(main, { next: localPath(new URLSearchParams(location.search).get("next")) });
    return;
  }
  renderShell();
  const allowed = session.screens.find((item) => item.path === screen);
  if (!allowed) {
    replace(main, h("h1", { text: "Not available to you" }),
      h("p", { class: "error", role: "alert", text: `The ${screen || "requested"} screen needs another role than yours (${session.user.role}).` }),
      h("p", {}, h("a", { href: `/${session.screens[0]?.path || "sign-in"}`, text: "Go to your first screen" })));
    document.title = "Not available — SkinGuard";
    return;
  }
  document.title = `${allowed.title} — SkinGuard`;
  const module = await import(`./screens/${screen}.js`);
  replace(main, h("p", { text: "Loading…" }));
  try {
    cleanup = (await module.render(main, { session, rest, navigate })) || null;
  } catch (error) {
    replace(main, h("h1", { text: allowed.title }), h("p", { class: "error", role: "alert", text: error.message }));
  }
  main.focus({ preventScroll: true });
}

async function start() {
  if (location.pathname !== "/sign-in") {
    try {
      session = await api("/session");
      setCsrfToken(session.csrf_token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return; // api() went to the sign-in page
      replace(main, h("p", { class: "error", role: "alert", text: error.message }));
      return;
    }
  }
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await api("/session", { method: "DELETE" });
    } finally {
      location.assign("/sign-in");
    }
  });
  addEventListener("popstate", route);
  await route();
}

start();
