// Datasets: the frozen dataset versions, freezing a new one (the fields DatasetIn accepts; the
// server validates and its reason is shown as written), and one version's leakage report with
// its class counts per split and per source.

import { annotation, api, query } from "../api.js";
import { barChart } from "../charts.js";
import { errorBox, field, formatDate, h, link, replace, say, table } from "../dom.js";

const SPLITS = ["train", "validation", "test"];
const CLASSES = ["benign", "malignant"];

export async function render(root, { rest, navigate }) {
  if (rest[0]) return renderOne(root, rest[0], navigate);
  return renderList(root, navigate);
}

function splitText(splits) {
  return SPLITS.map((name) => `${name} ${Math.round((splits?.[name] ?? 0) * 100)}%`).join(" / ");
}

async function renderList(root, navigate) {
  const listArea = h("div", { "aria-live": "polite" });
  replace(root,
    h("h1", { text: "Datasets" }),
    h("p", { class: "hint", text: "A dataset version freezes which labelled photos, which consensus label and which split — once. Training jobs and evaluations run on these versions." }),
    h("div", { class: "admin-columns" },
      h("section", { class: "card", "aria-labelledby": "datasets-list-heading" },
        h("h2", { id: "datasets-list-heading", text: "Dataset versions" }), listArea),
      createForm(navigate)));

  const page = await api(annotation(`datasets${query({ limit: 200 })}`));
  if (!page.items.length) {
    replace(listArea, h("p", { class: "empty", text: "No dataset version yet: freeze the first one with the form." }));
    return;
  }
  replace(listArea, h("div", { class: "table-scroll" }, table(
    ["Name", "Version", "Images", "Splits", "Created"],
    page.items.map((dataset) => [
      link(`/datasets/${dataset.id}`, dataset.name, navigate),
      `v${dataset.version}`,
      String(dataset.image_count),
      splitText(dataset.splits),
      formatDate(dataset.created_at),
    ]),
    page.total > page.items.length ? `The newest ${page.items.length} of ${page.total} versions` : null)));
}

function createForm(navigate) {
  const name = h("input", { name: "name", required: true, maxlength: 100, autocomplete: "off", spellcheck: "false" });
  const description = h("textarea", { name: "description", maxlength: 2000, rows: 2, class: "short" });
  const fraction = (splitName, value) => h("input", { type: "number", name: splitName, step: "any", value: String(value), inputmode: "decimal" });
  const train = fraction("train", 0.8);
  const validation = fraction("validation", 0.1);
  const test = fraction("test", 0.1);
  const seed = h("input", { type: "number", name: "seed", step: "1", inputmode: "numeric" });
  const sources = h("input", { name: "sources", autocomplete: "off", spellcheck: "false" });
  const minAnnotators = h("input", { type: "number", name: "min_annotators", step: "1", value: "1", inputmode: "numeric" });
  const excludeDisputed = h("input", { type: "checkbox", name: "exclude_disputed" });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", text: "Freeze dataset version" });

  const number = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const form = h("form", { class: "card", "aria-labelledby": "dataset-form-heading", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const chosenSources = sources.value.split(",").map((item) => item.trim()).filter(Boolean);
    const body = {
      name: name.value.trim(),
      description: description.value,
      splits: { train: number(train), validation: number(validation), test: number(test) },
      seed: number(seed),
      filters: {
        sources: chosenSources.length ? chosenSources : null,
        min_annotators: number(minAnnotators),
        exclude_disputed: excludeDisputed.checked,
      },
    };
    for (const [key, value] of Object.entries(body.splits)) if (value === null) delete body.splits[key];
    if (body.filters.min_annotators === null) delete body.filters.min_annotators;
    submit.disabled = true;
    say("Freezing the dataset version…");
    try {
      const dataset = await api(annotation("datasets"), { method: "POST", json: body });
      say(`Froze ${dataset.name} v${dataset.version} with ${dataset.image_count} images.`, "ok");
      navigate(`/datasets/${dataset.id}`);
    } catch (error) {
      say("");
      problem.textContent = error.message;
      problem.hidden = false;
      problem.focus();
    } finally {
      submit.disabled = false;
    }
  } },
  h("h2", { id: "dataset-form-heading", text: "Freeze a new dataset version" }),
  field("Name", name, "Letters, digits, dot, dash, underscore. The same name again makes its next version."),
  field("Description", description),
  h("fieldset", { class: "inline-fields" }, h("legend", { text: "Split fractions (they add up to 1)" }),
    field("Train", train), field("Validation", validation), field("Test", test)),
  field("Seed", seed, "Fixes the split; left empty, a random one is chosen and recorded."),
  h("fieldset", {}, h("legend", { text: "Filters" }),
    field("Sources", sources, "Comma-separated, e.g. clinic-a, ham10000; empty: every source."),
    field("Minimum annotators", minAnnotators, "Only photos with at least this many current labels."),
    h("label", { class: "check" }, excludeDisputed, " Exclude disputed photos (annotators disagree)")),
  problem,
  h("div", { class: "row" }, submit));
  problem.tabIndex = -1;
  return form;
}

async function renderOne(root, id, navigate) {
  const dataset = await api(annotation(`datasets/${encodeURIComponent(id)}`));
  const report = dataset.leakage_report || {};
  const splits = report.splits || {};
  const crossings = report.crossings || {};
  const crossingTotal = Object.values(crossings).reduce((sum, count) => sum + count, 0);
  const sources = Object.entries(report.sources || {}).sort(([a], [b]) => a.localeCompare(b));

  const filters = dataset.filters || {};
  const summary = h("dl", { class: "meta" }, [
    ["Images", dataset.image_count],
    ["Description", dataset.description || "—"],
    ["Split fractions", splitText(dataset.splits)],
    ["Seed", dataset.seed],
    ["Sources", filters.sources?.length ? filters.sources.join(", ") : "every source"],
    ["Minimum annotators", filters.min_annotators ?? 1],
    ["Disputed photos", filters.exclude_disputed ? "excluded" : "included"],
    ["Created", formatDate(dataset.created_at)],
    ["Manifest", dataset.manifest_url],
    ["Id", dataset.id],
  ].map(([key, value]) => [h("dt", { text: key }), h("dd", { text: String(value) })]));

  const leakage = h("div", { class: "table-scroll" }, table(
    ["Split", "Images", "Groups", "Benign", "Malignant"],
    SPLITS.map((name) => [name, ...["images", "groups", ...CLASSES].map((key) => String(splits[name]?.[key] ?? 0))]),
    "Photos and leakage groups per split"));
  const crossingTable = h("div", { class: "table-scroll" }, table(
    ["Shared between splits", "Count"],
    [
      ["Lesions", crossings.lesion], ["Patients", crossings.patient],
      ["Near-duplicate pairs", crossings.near_duplicate], ["Groups", crossings.group],
    ].map(([label, count]) => [label, h("span", { class: count ? "error" : "", text: String(count ?? "—") })]),
    "Crossings (anything here leaks between splits)"));

  const sourceTotals = sources.map(([, perSplit]) =>
    CLASSES.map((label) => SPLITS.reduce((sum, split) => sum + (perSplit[split]?.[label] ?? 0), 0)));

  replace(root,
    h("p", { class: "crumbs" }, link("/datasets", "← All datasets", navigate)),
    h("h1", { text: `Dataset ${dataset.name} v${dataset.version}` }),
    h("div", { class: "admin-columns" },
      h("section", { class: "card", "aria-labelledby": "dataset-summary-heading" },
        h("h2", { id: "dataset-summary-heading", text: "Summary" }), summary,
        h("div", { class: "row actions" },
          h("a", { class: "button-link", href: annotation(`datasets/${dataset.id}/export`),
            download: `${dataset.name}-v${dataset.version}.json`, text: "Export (JSON manifest)" }),
          link(`/training?dataset=${dataset.id}`, "Train a model on this version", navigate))),
      h("section", { class: "card", "aria-labelledby": "leakage-heading" },
        h("h2", { id: "leakage-heading", text: "Leakage report" }),
        h("p", { class: crossingTotal ? "error" : "ok-text", role: "status", text: crossingTotal
          ? `${crossingTotal} crossing(s): something is shared between splits.`
          : "No leakage: no lesion, patient, near-duplicate or group is shared between splits." }),
        leakage, crossingTable,
        h("dl", { class: "meta" }, [
          ["Groups", report.groups], ["Largest group", report.largest_group],
          ["Near-duplicate pairs", report.near_duplicate_pairs],
          ["Near-duplicate distance", report.near_duplicate_max_distance === undefined ? "—" : `at most ${report.near_duplicate_max_distance} bits`],
        ].map(([key, value]) => [h("dt", { text: key }), h("dd", { text: String(value ?? "—") })])))),
    h("section", { class: "card", "aria-labelledby": "class-counts-heading" },
      h("h2", { id: "class-counts-heading", text: "Class counts" }),
      h("div", { class: "side-by-side" },
        barChart("Photos per split and class", SPLITS,
          CLASSES.map((label) => ({ name: label, className: label, values: SPLITS.map((split) => splits[split]?.[label] ?? 0) })),
          { integer: true, yLabel: "photos", xLabel: "split" }),
        barChart("Photos per source and class", sources.map(([source]) => source),
          CLASSES.map((label, index) => ({ name: label, className: label, values: sourceTotals.map((totals) => totals[index]) })),
          { integer: true, yLabel: "photos", xLabel: "source", empty: "No source recorded" })),
      h("div", { class: "table-scroll" }, table(
        ["Source", ...SPLITS.flatMap((split) => CLASSES.map((label) => `${split} ${label}`))],
        sources.map(([source, perSplit]) => [source,
          ...SPLITS.flatMap((split) => CLASSES.map((label) => String(perSplit[split]?.[label] ?? 0)))]),
        "Class counts per source and split"))));
  document.title = `${dataset.name} v${dataset.version} — Datasets — SkinGuard`;
}
