// Monitoring: the served predictions over a time window (per day and model version, malignant
// rate, confidence histogram) and the live performance measured on clinicians' feedback
// (accuracy, precision, recall, confusion matrix), overall and per model version.

import { api, monitoring, query } from "../api.js";
import { barChart, histogram, percent } from "../charts.js";
import { errorBox, field, formatDate, formatNumber, h, replace, table } from "../dom.js";

const WINDOWS = [
  { hours: 24, label: "Last 24 hours" },
  { hours: 24 * 7, label: "Last 7 days" },
  { hours: 24 * 30, label: "Last 30 days" },
];
const CLASSES = ["benign", "malignant"];

const shortDay = (day) => day.slice(5); // "2026-12-01" -> "12-01" on the axis; tooltips keep the year
const versionName = (item) => `${item.model_name} v${item.model_version}`;

// Every UTC day from ``since`` to today, "YYYY-MM-DD": days without predictions still show.
function daysSince(since) {
  const days = [];
  const day = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()));
  const today = new Date();
  while (day <= today && days.length < 400) {
    days.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return days;
}

function figures(items) {
  return h("ul", { class: "figures" }, items.map(([what, value, note]) =>
    h("li", {}, h("span", { class: "what", text: what }), h("span", { class: "value", text: String(value) }),
      note ? h("span", { class: "what", text: note }) : null)));
}

function confusionMatrix(matrix, caption) {
  return h("table", { class: "matrix" },
    h("caption", { text: caption }),
    h("thead", {}, h("tr", {}, h("td", {}), h("th", { scope: "col", colspan: "2", text: "Predicted" })),
      h("tr", {}, h("th", { scope: "col", text: "Actual" }), CLASSES.map((label) => h("th", { scope: "col", text: label })))),
    h("tbody", {}, CLASSES.map((actual) => h("tr", {}, h("th", { scope: "row", text: actual }),
      CLASSES.map((predicted) => h("td", { class: actual === predicted ? "hit" : "miss",
        "aria-label": `actual ${actual}, predicted ${predicted}: ${matrix?.[actual]?.[predicted] ?? 0}`,
        text: String(matrix?.[actual]?.[predicted] ?? 0) }))))));
}

export async function render(root) {
  let hours = 24;
  let stopped = false;
  let generation = 0;
  const windowSelect = h("select", { name: "window", onchange: () => { hours = Number(windowSelect.value); load(); } },
    WINDOWS.map((item) => h("option", { value: String(item.hours), selected: item.hours === hours }, item.label)));
  const refresh = h("button", { type: "button", class: "secondary", onclick: () => load() }, "Refresh");
  const updated = h("p", { class: "hint", "aria-live": "polite" });
  const statsArea = h("div", { "aria-busy": "true" }, h("p", { text: "Loading…" }));
  const performanceArea = h("div", { "aria-busy": "true" }, h("p", { text: "Loading…" }));

  replace(root,
    h("h1", { text: "Monitoring" }),
    h("div", { class: "toolbar" }, field("Time window", windowSelect), refresh, updated),
    h("section", { class: "card", "aria-labelledby": "predictions-heading" },
      h("h2", { id: "predictions-heading", text: "Predictions" }), statsArea),
    h("section", { class: "card", "aria-labelledby": "performance-heading" },
      h("h2", { id: "performance-heading", text: "Live performance (from feedback)" }), performanceArea));

  async function load() {
    const mine = ++generation;
    statsArea.setAttribute("aria-busy", "true");
    performanceArea.setAttribute("aria-busy", "true");
    refresh.disabled = true;
    const [stats, performance] = await Promise.allSettled([
      api(monitoring(`stats${query({ window_hours: hours })}`)),
      api(monitoring("performance")),
    ]);
    if (stopped || mine !== generation) return;
    refresh.disabled = false;
    statsArea.removeAttribute("aria-busy");
    performanceArea.removeAttribute("aria-busy");
    replace(statsArea, stats.status === "fulfilled" ? showStats(stats.value) : errorBox(stats.reason));
    replace(performanceArea, performance.status === "fulfilled" ? showPerformance(performance.value) : errorBox(performance.reason));
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  }

  function showStats(stats) {
    const windowLabel = WINDOWS.find((item) => item.hours === stats.window_hours)?.label.toLowerCase() || `last ${stats.window_hours} hours`;
    const overall = stats.overall;
    const summary = figures([
      ["Predictions", overall.count, `since ${formatDate(stats.since)}`],
      ["Malignant rate", percent(overall.malignant_rate), "of the answers"],
      ["Average confidence", formatNumber(overall.average_confidence), "probability of the answered class"],
      ["Model versions", stats.by_model_version.length, "answering in the window"],
    ]);
    if (!overall.count) {
      return [summary, h("p", { class: "empty", text: `No predictions in the ${windowLabel}: nothing to chart yet. Predictions appear here as the apps ask the gateway.` })];
    }
    const days = daysSince(new Date(stats.since));
    const versions = [...new Set(stats.per_day.map(versionName))];
    const cell = (day, version, key) => stats.per_day.find((item) => String(item.day) === day && versionName(item) === version)?.[key];
    const perDay = barChart("Predictions per day (UTC), by model version", days,
      versions.map((version) => ({ name: version, values: days.map((day) => cell(day, version, "count") ?? null) })),
      { stacked: true, integer: true, yLabel: "predictions", xLabel: "day (UTC)", formatCategory: shortDay, legend: true });
    const rate = barChart("Malignant rate per day (UTC), by model version", days,
      versions.map((version) => ({ name: version, values: days.map((day) => cell(day, version, "malignant_rate") ?? null) })),
      { yMax: 1, format: percent, yLabel: "malignant answers", xLabel: "day (UTC)", formatCategory: shortDay, legend: true });
    const confidence = histogram("Confidence of the answered class", overall.confidence_histogram,
      { xLabel: "confidence", yLabel: "predictions", format: (value) => value.toFixed(1) });
    const byVersion = stats.by_model_version;
    return [
      summary,
      h("div", { class: "side-by-side" }, perDay, rate),
      h("div", { class: "side-by-side" }, confidence,
        h("div", {}, h("h3", { text: "By model version" }), h("div", { class: "table-scroll" }, table(
          ["Model version", "Predictions", "Malignant rate", "Average confidence"],
          byVersion.map((item) => [versionName(item), String(item.count), percent(item.malignant_rate), formatNumber(item.average_confidence)]))))),
      byVersion.length > 1
        ? h("div", { class: "side-by-side" }, byVersion.map((item) => histogram(`Confidence, ${versionName(item)}`, item.confidence_histogram,
          { xLabel: "confidence", yLabel: "predictions", format: (value) => value.toFixed(1) })))
        : null,
    ];
  }

  function showPerformance(performance) {
    const overall = performance.overall;
    const summary = figures([
      ["Feedback", overall.feedback_count, "predictions with a confirmed outcome"],
      ["Accuracy", formatNumber(overall.accuracy), null],
      ["Precision", formatNumber(overall.precision), `of ${performance.positive_class} answers, confirmed ${performance.positive_class}`],
      ["Recall", formatNumber(overall.recall), `of confirmed ${performance.positive_class} lesions, answered ${performance.positive_class}`],
    ]);
    if (!overall.feedback_count) {
      return [summary, h("p", { class: "empty", text: "No feedback yet: accuracy, precision and recall need clinicians' confirmed outcomes of predictions." })];
    }
    return [
      summary,
      h("div", { class: "side-by-side" },
        confusionMatrix(overall.confusion_matrix, "Confusion matrix, every version"),
        h("div", { class: "table-scroll" }, table(["Model version", "Feedback", "Accuracy", "Precision", "Recall"],
          performance.by_model_version.map((item) => [versionName(item), String(item.feedback_count),
            formatNumber(item.accuracy), formatNumber(item.precision), formatNumber(item.recall)]), "By model version"))),
      performance.by_model_version.length > 1
        ? h("div", { class: "matrices" }, performance.by_model_version.map((item) => confusionMatrix(item.confusion_matrix, `Confusion matrix, ${versionName(item)}`)))
        : null,
    ];
  }

  await load();
  return () => { stopped = true; };
}
