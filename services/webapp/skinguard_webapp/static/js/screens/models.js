// Models: the registry (every version, its status and the gate's decision), one version's
// metrics, gate, plots and model card, and the people's decisions on it: Promote and Roll back,
// each confirmed in a dialog that names exactly what will be served.

import { annotation, api, query } from "../api.js";
import { errorBox, formatDate, formatNumber, h, link, replace, say, shortId, table } from "../dom.js";

const CARD_SECTIONS = [
  ["intended_use", "Intended use"],
  ["not_a_diagnosis", "Not a diagnosis"],
  ["model", "Model"],
  ["training_data", "Training data"],
  ["recipe", "Recipe"],
  ["operating_point", "Operating point"],
  ["calibration", "Calibration"],
  ["risk_levels", "Risk levels"],
  ["metrics", "Metrics"],
  ["slices", "Slices"],
  ["gate", "Gate"],
  ["limitations", "Limitations"],
];
const NAMES = {
  roc_auc: "ROC AUC", roc_auc_ci95: "ROC AUC, 95% CI", ece: "ECE", ece_uncalibrated: "ECE before calibration",
  test_ece_before: "Test ECE before calibration", test_ece_after: "Test ECE after calibration", auc: "AUC",
  tflite_bytes: "TFLite size", saved_model_bytes: "SavedModel size", input_size: "Input size (px)", id: "Id",
};

export async function render(root, { rest, navigate }) {
  if (rest[0] && rest[1]) return renderVersion(root, decodeURIComponent(rest[0]), Number(rest[1]), navigate);
  return renderList(root, navigate);
}

const versionPath = (version) => `/models/${encodeURIComponent(version.model_name)}/${version.version}`;
const statusPill = (status) => h("span", { class: `pill state-${status}`, text: status });

function gateCell(gate) {
  if (!gate || gate.promote === undefined) return "—";
  return h("span", {},
    h("span", { class: `pill state-${gate.promote ? "passed" : "rejected"}`, text: gate.promote ? "passed" : "rejected" }),
    gate.override ? h("span", { class: "muted", text: ` · ${gate.override}` }) : null,
    h("span", { class: "gate-reason", text: gate.reason || "" }));
}

export function humanize(key) {
  if (NAMES[key]) return NAMES[key];
  const text = String(key).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function bytes(value) {
  if (!Number.isFinite(value)) return "—";
  return value >= 1024 * 1024 ? `${(value / 1024 / 1024).toFixed(1)} MiB` : `${Math.round(value / 1024)} KiB`;
}

function scalarText(value, key = "") {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    if (key.endsWith("_bytes")) return bytes(value);
    if (Number.isInteger(value)) return String(value);
    return formatNumber(value, Math.abs(value) >= 10 ? 1 : 3);
  }
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) return formatDate(value);
  return String(value);
}

const isScalar = (value) => value === null || ["string", "number", "boolean"].includes(typeof value);

// Any JSON value of the model card, readably: text, lists, tables for uniform rows, nested terms.
function describe(value, key = "") {
  if (isScalar(value)) return document.createTextNode(scalarText(value, key));
  if (Array.isArray(value)) {
    if (!value.length) return h("span", { class: "muted", text: "none" });
    if (value.every((item) => typeof item === "number") && value.length === 2) return document.createTextNode(`${scalarText(value[0])} – ${scalarText(value[1])}`);
    if (value.every(isScalar)) return document.createTextNode(value.map((item) => scalarText(item)).join(", "));
    if (value.every(Array.isArray)) return document.createTextNode(`${value.length} points`);
    if (value.every((item) => item && typeof item === "object" && Object.values(item).every(isScalar))) {
      const columns = [...new Set(value.flatMap((item) => Object.keys(item)))];
      return h("div", { class: "table-scroll" }, table(columns.map(humanize), value.map((item) => columns.map((column) => scalarText(item[column], column)))));
    }
    return h("ol", {}, value.map((item) => h("li", {}, describe(item))));
  }
  const entries = Object.entries(value);
  if (!entries.length) return h("span", { class: "muted", text: "none" });
  const rows = entries.every(([, inner]) => inner && typeof inner === "object" && !Array.isArray(inner)
    && Object.values(inner).every(isScalar));
  if (rows && (entries.length > 1 || Object.keys(entries[0][1]).length > 1)) {
    const columns = [...new Set(entries.flatMap(([, inner]) => Object.keys(inner)))];
    return h("div", { class: "table-scroll" }, table(["", ...columns.map(humanize)],
      entries.map(([name, inner]) => [name, ...columns.map((column) => scalarText(inner[column], column))])));
  }
  return h("dl", { class: "meta" }, entries.map(([name, inner]) => [h("dt", { text: humanize(name) }), h("dd", {}, describe(inner, name))]));
}

async function renderList(root, navigate) {
  const { items } = await api(annotation("models"));
  const names = [...new Set(items.map((version) => version.model_name))];
  replace(root,
    h("h1", { text: "Models" }),
    h("section", { class: "card", "aria-labelledby": "served-heading" },
      h("h2", { id: "served-heading", text: "Served now" }),
      names.length
        ? h("ul", { class: "figures" }, names.map((name) => {
          const promoted = items.find((version) => version.model_name === name && version.status === "promoted");
          return h("li", {}, h("span", { class: "what", text: name }),
            h("span", { class: "value" }, promoted ? link(versionPath(promoted), `version ${promoted.version}`, navigate) : "none"));
        }))
        : h("p", { class: "empty", text: "The registry is empty: a training job that succeeds registers a version." })),
    h("section", { class: "card", "aria-labelledby": "registry-heading" },
      h("h2", { id: "registry-heading", text: "Registry" }),
      items.length
        ? h("div", { class: "table-scroll" }, table(
          ["Model", "Version", "Status", "Test AUC", "Gate decision", "Created", "Promoted"],
          items.map((version) => [
            version.model_name,
            link(versionPath(version), `v${version.version}`, navigate),
            statusPill(version.status),
            formatNumber(version.test_auc),
            gateCell(version.gate),
            formatDate(version.created_at),
            formatDate(version.promoted_at),
          ])))
        : h("p", { class: "empty", text: "No model version yet." })));
}

// A modal confirmation; resolves true when confirmed. Escape or Cancel resolves false.
function confirm(root, { title, question, details, action, danger }) {
  return new Promise((resolve) => {
    let answer = false;
    const dialog = h("dialog", { "aria-labelledby": "confirm-heading", "aria-describedby": "confirm-question" },
      h("h2", { id: "confirm-heading", text: title }),
      h("p", { id: "confirm-question", class: "confirm-question", text: question }),
      details.map((text) => h("p", { class: "hint", text })),
      h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", autofocus: true, onclick: () => dialog.close() }, "Cancel"),
        h("button", { type: "button", class: danger ? "danger" : "", onclick: () => { answer = true; dialog.close(); } }, action)));
    dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); });
    root.append(dialog);
    dialog.showModal();
  });
}

// The version promoted before ``target``: the one a rollback of ``target`` serves again.
function previouslyPromoted(target, versions) {
  const cutoff = target.promoted_at ? Date.parse(target.promoted_at) : null;
  if (cutoff === null) return null;
  return versions
    .filter((v) => v !== target && v.status === "archived" && v.promoted_at && Date.parse(v.promoted_at) < cutoff)
    .sort((a, b) => Date.parse(b.promoted_at) - Date.parse(a.promoted_at))[0] || null;
}

async function renderVersion(root, name, number, navigate, notice = null) {
  const { items: versions } = await api(annotation(`models${query({ name })}`));
  const version = versions.find((item) => item.version === number);
  if (!version) {
    replace(root, h("p", { class: "crumbs" }, link("/models", "← All models", navigate)),
      h("h1", { text: `Model ${name} version ${number}` }),
      errorBox(new Error(`No version ${number} of model ${name} in the registry.`)));
    return;
  }
  document.title = `${name} v${number} — Models — SkinGuard`;
  const base = `models/${encodeURIComponent(name)}/${number}`;
  const served = versions.find((item) => item.status === "promoted") || null;
  const outcome = h("p", { role: "status", "aria-live": "polite", class: notice ? `notice ${notice.kind}` : "", hidden: !notice, tabindex: "-1" },
    notice ? notice.text : "");
  const problem = h("p", { class: "error", role: "alert", hidden: true });

  async function decide(kind) {
    problem.hidden = true;
    const previous = previouslyPromoted(version, versions);
    const gateRejected = version.gate && version.gate.promote === false;
    const promoting = kind === "promote";
    const confirmed = await confirm(root, promoting
      ? {
        title: "Promote this version?",
        question: served
          ? `Serve ${name} version ${number} instead of version ${served.version}?`
          : `Serve ${name} version ${number}? No version of ${name} is served now.`,
        details: [
          gateRejected ? `The gate rejected it: ${version.gate.reason}. Promoting overrides the gate.` : null,
          served ? `Version ${served.version} is archived; rolling back version ${number} later serves it again.` : null,
          `Model servers that follow ${name} load it within seconds and answer with it from then on.`,
        ].filter(Boolean),
        action: `Serve version ${number}`,
      }
      : {
        title: "Roll back this version?",
        question: previous
          ? `Stop serving ${name} version ${number} and serve version ${previous.version} again?`
          : `Stop serving ${name} version ${number}? No earlier version was promoted, so no version of ${name} will be served.`,
        details: [`Version ${number} is marked rejected.`],
        action: previous ? `Serve version ${previous.version} again` : `Stop serving version ${number}`,
        danger: true,
      });
    if (!confirmed) return;
    try {
      let text;
      if (promoting) {
        const answer = await api(annotation(`${base}/promote`), { method: "POST" });
        text = `${answer.model_name} version ${answer.version} is ${answer.status}: it is served now${served ? ` instead of version ${served.version}` : ""}.`;
      } else {
        const answer = await api(annotation(`${base}/rollback`), { method: "POST" });
        const now = answer.items.find((item) => item.status === "promoted");
        text = `Rolled back: version ${number} is ${answer.items.find((item) => item.version === number)?.status || "withdrawn"}; `
          + (now ? `${name} version ${now.version} is served again.` : `no version of ${name} is served now.`);
      }
      say(text, "ok");
      await renderVersion(root, name, number, navigate, { text, kind: "info" });
      root.querySelector(".notice[role=status]")?.focus();
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  const metrics = version.metrics || {};
  const figures = [
    ["ROC AUC (test)", formatNumber(metrics.roc_auc ?? version.test_auc), metrics.roc_auc_ci95 ? `95% CI ${metrics.roc_auc_ci95.map((v) => formatNumber(v)).join(" – ")}` : null],
    ["Sensitivity", formatNumber(metrics.sensitivity), "at the decision threshold"],
    ["Specificity", formatNumber(metrics.specificity), "at the decision threshold"],
    ["ECE", formatNumber(metrics.ece), metrics.ece_uncalibrated !== undefined ? `${formatNumber(metrics.ece_uncalibrated)} before calibration` : null],
    ["Decision threshold", formatNumber(metrics.threshold, 4), null],
    ["Test photos", metrics.samples ?? "—", metrics.malignant !== undefined ? `${metrics.malignant} malignant` : null],
  ];
  const gate = version.gate || {};

  const plotsArea = h("div", { "aria-busy": "true" }, h("p", { text: "Loading plots…" }));
  const cardArea = h("div", { class: "model-card", "aria-busy": "true" }, h("p", { text: "Loading the model card…" }));
  const evaluationsArea = h("div", {}, h("p", { text: "Loading evaluations…" }));

  replace(root,
    h("p", { class: "crumbs" }, link("/models", "← All models", navigate)),
    h("h1", {}, `Model ${name} version ${number} `, statusPill(version.status)),
    h("div", { class: "admin-columns" },
      h("section", { class: "card", "aria-labelledby": "test-metrics-heading" },
        h("h2", { id: "test-metrics-heading", text: "Test metrics" }),
        h("ul", { class: "figures" }, figures.map(([what, value, note]) =>
          h("li", {}, h("span", { class: "what", text: what }), h("span", { class: "value", text: String(value) }),
            note ? h("span", { class: "what", text: note }) : null))),
        h("dl", { class: "meta" }, [
          ["Dataset", link(`/datasets/${version.dataset_id}`, shortId(version.dataset_id), navigate)],
          ["Training job", version.job_id ? link(`/training/${version.job_id}`, shortId(version.job_id), navigate) : "—"],
          ["Created", formatDate(version.created_at)],
          ["Promoted", formatDate(version.promoted_at)],
          ["SavedModel size", bytes(metrics.sizes?.saved_model_bytes)],
          ["TFLite size", bytes(metrics.sizes?.tflite_bytes)],
          ["Artefacts", version.artifact_url],
        ].map(([key, value]) => [h("dt", { text: key }), h("dd", {}, value)]))),
      h("section", { class: "card", "aria-labelledby": "decision-heading" },
        h("h2", { id: "decision-heading", text: "Serving" }),
        h("p", {}, served
          ? [`Served now: ${name} `, served.version === number ? `version ${number} (this one)` : link(versionPath(served), `version ${served.version}`, navigate), "."]
          : `No version of ${name} is served now.`),
        outcome,
        h("div", { class: "row actions" },
          version.status !== "promoted" ? h("button", { type: "button", onclick: () => decide("promote") }, `Promote version ${number}`) : null,
          version.status === "promoted" ? h("button", { type: "button", class: "danger", onclick: () => decide("rollback") }, `Roll back version ${number}`) : null),
        problem,
        h("h3", { text: "Gate decision" }),
        h("p", {}, gateCell(gate)),
        gate.checks?.length ? h("div", { class: "table-scroll" }, table(["Check", "Result", "Reason"],
          gate.checks.map((check) => [check.name, h("span", { class: `pill state-${check.passed ? "passed" : "rejected"}`, text: check.passed ? "passed" : "failed" }), check.reason]))) : null,
        gate.policy ? h("details", {}, h("summary", { text: "Gate policy" }), describe(gate.policy)) : null)),
    h("section", { class: "card", "aria-labelledby": "plots-heading" },
      h("h2", { id: "plots-heading", text: "Plots" }), plotsArea),
    h("section", { class: "card", "aria-labelledby": "card-heading" },
      h("h2", { id: "card-heading", text: "Model card" }), cardArea),
    h("section", { class: "card", "aria-labelledby": "evaluations-heading" },
      h("h2", { id: "evaluations-heading", text: "Evaluations" }), evaluationsArea),
    h("section", { class: "card", "aria-labelledby": "versions-heading" },
      h("h2", { id: "versions-heading", text: `Versions of ${name}` }),
      h("div", { class: "table-scroll" }, table(["Version", "Status", "Test AUC", "Created", "Promoted"],
        versions.map((item) => [
          item.version === number ? `v${item.version} (this one)` : link(versionPath(item), `v${item.version}`, navigate),
          statusPill(item.status), formatNumber(item.test_auc), formatDate(item.created_at), formatDate(item.promoted_at),
        ])))));

  await Promise.all([
    api(annotation(`${base}/plots`)).then(({ plots }) => {
      replace(plotsArea, plots.length
        ? h("div", { class: "plots" }, plots.map((file) => {
          const src = annotation(`${base}/plots/${encodeURIComponent(file)}`);
          const title = humanize(file.replace(/\.png$/, "")).replace(/\broc\b/i, "ROC");
          return h("figure", {}, h("a", { href: src, target: "_blank", rel: "noopener" },
            h("img", { src, alt: `${title} of ${name} version ${number}`, loading: "lazy" })), h("figcaption", { text: title }));
        }))
        : h("p", { class: "empty", text: "This version has no plots." }));
    }).catch((error) => replace(plotsArea, errorBox(error))).finally(() => plotsArea.removeAttribute("aria-busy")),
    api(annotation(`${base}/card`)).then((card) => replace(cardArea, modelCard(card)))
      .catch((error) => replace(cardArea, errorBox(error))).finally(() => cardArea.removeAttribute("aria-busy")),
    api(annotation(`${base}/evaluations`)).then(({ items }) => replace(evaluationsArea, items.length
      ? h("div", { class: "table-scroll" }, table(["Dataset", "Split", "Purpose", "State", "ROC AUC", "Sensitivity", "Specificity", "Created"],
        items.map((item) => [link(`/datasets/${item.dataset_id}`, shortId(item.dataset_id), navigate), item.split || "all",
          item.purpose, statusPill(item.state), formatNumber(item.result?.roc_auc), formatNumber(item.result?.sensitivity),
          formatNumber(item.result?.specificity), formatDate(item.created_at)])))
      : h("p", { class: "empty", text: "No evaluation of this version on another dataset yet." })))
      .catch((error) => replace(evaluationsArea, errorBox(error))),
  ]);
}

function modelCard(card) {
  const known = new Set(CARD_SECTIONS.map(([key]) => key));
  const sections = [...CARD_SECTIONS, ...Object.keys(card).filter((key) => !known.has(key)).map((key) => [key, humanize(key)])];
  return sections.filter(([key]) => card[key] !== undefined).map(([key, title]) => {
    const value = card[key];
    let body;
    if (key === "not_a_diagnosis") body = h("p", { class: "notice" }, h("strong", { text: value }));
    else if (key === "limitations" && Array.isArray(value)) body = h("ul", {}, value.map((text) => h("li", { text })));
    else if (key === "gate" && value) {
      body = [h("p", {}, gateCell(value)),
        value.checks?.length ? h("ul", {}, value.checks.map((check) => h("li", { text: `${check.passed ? "passed" : "failed"} — ${check.reason}` }))) : null];
    } else if (typeof value === "string") body = h("p", { text: value });
    else if (value === null) body = h("p", { class: "muted", text: "none" });
    else body = describe(value, key);
    const wide = ["intended_use", "not_a_diagnosis", "limitations", "gate", "slices"].includes(key) || typeof value === "string";
    return h("section", { "aria-label": title, class: wide ? "wide" : null }, h("h3", { text: title }), body);
  });
}
