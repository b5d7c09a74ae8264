// Training: start a job on a dataset version (a recipe preset fills the JSON config, which the
// server validates: its 422 reason is shown as written), the jobs and their states, and one
// job's live progress, polled every 2 s until it ends, with its loss and AUC curves.

import { annotation, api, query } from "../api.js";
import { lineChart } from "../charts.js";
import { errorBox, field, formatDate, formatNumber, h, link, replace, say, shortId, table } from "../dom.js";

const POLL_MS = 2000;
const LIST_POLL_MS = 5000;
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const PRESETS = [
  { name: "Default recipe", config: {},
    hint: "The measured recipe: EfficientNet-Lite0 from ImageNet weights, 160 px, 8 epochs (slow on CPUs)." },
  { name: "Quick check",
    config: { model_type: "CNN", input_size: 32, batch_size: 4, epochs: 2, augmentation: false,
      early_stopping_patience: 0, reduce_lr_patience: 0 },
    hint: "A small CNN at 32 px for 2 epochs: checks the pipeline end to end in about a minute; not a useful model." },
];
const METRICS = ["loss", "auc", "accuracy", "precision", "recall"];

export async function render(root, { rest, navigate }) {
  if (rest[0]) return renderJob(root, rest[0], navigate);
  return renderList(root, navigate);
}

function statePill(job) {
  const pill = h("span", { class: `pill state-${job.state}`, text: job.state });
  if (job.cancel_requested && !FINISHED.has(job.state)) return [pill, " ", h("span", { class: "muted", text: "cancel requested" })];
  return pill;
}

function datasetName(datasets, id) {
  const dataset = datasets.get(id);
  return dataset ? `${dataset.name} v${dataset.version}` : shortId(id);
}

function progressText(job) {
  const progress = job.progress || {};
  const epochs = progress.epochs ?? job.config?.epochs;
  const parts = [];
  if (progress.phase) parts.push(progress.phase);
  if (progress.epoch) parts.push(`epoch ${progress.epoch}${epochs ? ` of ${epochs}` : ""}`);
  return parts.join(", ") || "—";
}

async function renderList(root, navigate) {
  const datasetPage = await api(annotation(`datasets${query({ limit: 500 })}`));
  const datasets = new Map(datasetPage.items.map((dataset) => [dataset.id, dataset]));
  const jobsArea = h("div", { "aria-live": "off" });
  replace(root,
    h("h1", { text: "Training" }),
    h("div", { class: "admin-columns" },
      h("section", { class: "card", "aria-labelledby": "jobs-heading" },
        h("div", { class: "section-head" }, h("h2", { id: "jobs-heading", text: "Training jobs" }),
          h("button", { type: "button", class: "secondary", onclick: () => refresh() }, "Refresh")),
        jobsArea),
      startForm(datasetPage.items, navigate)));

  let timer = null;
  let stopped = false;
  async function refresh() {
    clearTimeout(timer);
    timer = null;
    let page;
    try {
      page = await api(annotation(`training-jobs${query({ limit: 50 })}`));
    } catch (error) {
      if (!stopped) replace(jobsArea, errorBox(error));
      return;
    }
    if (stopped) return;
    if (!page.items.length) {
      replace(jobsArea, h("p", { class: "empty", text: "No training job yet." }));
    } else {
      replace(jobsArea, h("div", { class: "table-scroll" }, table(
        ["Job", "Dataset", "Model", "State", "Progress", "Created", "Version"],
        page.items.map((job) => [
          link(`/training/${job.id}`, shortId(job.id), navigate),
          link(`/datasets/${job.dataset_id}`, datasetName(datasets, job.dataset_id), navigate),
          job.model_name,
          statePill(job),
          progressText(job),
          formatDate(job.created_at),
          job.model_version ? link(`/models/${job.model_name}/${job.model_version}`, `v${job.model_version}`, navigate) : "—",
        ]),
        page.total > page.items.length ? `The newest ${page.items.length} of ${page.total} jobs` : null)));
    }
    // While a job is queued or running, the list follows it.
    if (page.items.some((job) => !FINISHED.has(job.state))) timer = setTimeout(refresh, LIST_POLL_MS);
  }
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}

function startForm(datasets, navigate) {
  const wanted = new URLSearchParams(location.search).get("dataset");
  const dataset = h("select", { name: "dataset", required: true },
    datasets.map((item) => h("option", { value: item.id, selected: item.id === wanted },
      `${item.name} v${item.version} (${item.image_count} images)`)));
  const modelName = h("input", { name: "model_name", value: "skinguard", required: true, autocomplete: "off", spellcheck: "false" });
  const presetHint = h("span", { class: "hint", "aria-live": "polite" });
  const config = h("textarea", { name: "config", class: "config", spellcheck: "false", autocomplete: "off" });
  const preset = h("select", { name: "preset", onchange: () => choose(Number(preset.value)) },
    PRESETS.map((item, index) => h("option", { value: String(index) }, item.name)));
  const problem = h("p", { class: "error", role: "alert", hidden: true, tabindex: "-1" });
  const submit = h("button", { type: "submit", text: "Start training", disabled: !datasets.length });

  function choose(index) {
    config.value = JSON.stringify(PRESETS[index].config, null, 2);
    presetHint.textContent = PRESETS[index].hint;
  }
  choose(0);

  function fail(message) {
    problem.textContent = message;
    problem.hidden = false;
    problem.focus();
  }

  return h("form", { class: "card", "aria-labelledby": "start-heading", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    let parsed;
    try {
      parsed = config.value.trim() ? JSON.parse(config.value) : {};
    } catch (error) {
      return fail(`The config is not valid JSON: ${error.message}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      return fail("The config must be a JSON object, e.g. {\"epochs\": 4}.");
    }
    submit.disabled = true;
    try {
      const job = await api(annotation(`datasets/${encodeURIComponent(dataset.value)}/training-jobs`),
        { method: "POST", json: { model_name: modelName.value.trim(), config: parsed } });
      say(`Training job ${shortId(job.id)} queued.`, "ok");
      navigate(`/training/${job.id}`);
    } catch (error) {
      fail(error.message);
    } finally {
      submit.disabled = !datasets.length;
    }
  } },
  h("h2", { id: "start-heading", text: "Start a training job" }),
  datasets.length ? null : h("p", { class: "notice info" }, "No dataset version yet: ",
    link("/datasets", "freeze one on the Datasets screen", navigate), " first."),
  field("Dataset version", dataset),
  field("Model name", modelName, "The registry name: lower-case letters, digits, dash, underscore."),
  field("Recipe preset", preset),
  presetHint,
  field("Training config (JSON)", config, "TrainingConfig fields; those left out take their defaults. The server checks every value."),
  problem,
  h("div", { class: "row" }, submit));
}

// ---- One job ----

async function renderJob(root, id, navigate) {
  let job = await api(annotation(`training-jobs/${encodeURIComponent(id)}`));
  const dataset = await api(annotation(`datasets/${job.dataset_id}`)).catch(() => null);
  const polled = new Map(); // "epoch:batch" -> {epoch, batch, loss}: the batch loss as this page saw it
  let batchesPerEpoch = null;
  let lastState = job.state;
  let timer = null;
  let stopped = false;

  const stateArea = h("div", { role: "status", "aria-live": "polite", "aria-atomic": "true", class: "progress-line" });
  const details = h("dl", { class: "meta" });
  const metricsArea = h("div");
  const curves = h("div", { class: "side-by-side" });
  const batchArea = h("div", { class: "side-by-side" });
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const cancel = h("button", { type: "button", class: "danger", onclick: () => cancelJob() }, "Cancel job");

  replace(root,
    h("p", { class: "crumbs" }, link("/training", "← All training jobs", navigate)),
    h("h1", { text: `Training job ${shortId(job.id)}` }),
    h("div", { class: "admin-columns" },
      h("section", { class: "card", "aria-labelledby": "job-status-heading" },
        h("h2", { id: "job-status-heading", text: "Status" }), stateArea, details,
        h("div", { class: "row actions" }, cancel), problem),
      h("section", { class: "card", "aria-labelledby": "job-metrics-heading" },
        h("h2", { id: "job-metrics-heading", text: "Current metrics" }), metricsArea)),
    h("section", { class: "card", "aria-labelledby": "job-curves-heading" },
      h("h2", { id: "job-curves-heading", text: "Training curves" }), curves, batchArea),
    h("section", { class: "card", "aria-labelledby": "job-config-heading" },
      h("h2", { id: "job-config-heading", text: "Config" }),
      h("details", {}, h("summary", { text: "The full TrainingConfig of this job" }),
        h("pre", { text: JSON.stringify(job.config, null, 2) }))));

  function remember(progress) {
    const metrics = progress.metrics || {};
    if (Object.keys(metrics).some((name) => name.startsWith("val_")) && progress.batch) batchesPerEpoch = progress.batch;
    if (progress.phase === "training" && progress.epoch && Number.isFinite(metrics.loss)) {
      polled.set(`${progress.epoch}:${progress.batch}`, { epoch: progress.epoch, batch: progress.batch, loss: metrics.loss });
    }
  }

  function show() {
    const progress = job.progress || {};
    const epochs = progress.epochs ?? job.config?.epochs;
    const history = Array.isArray(progress.history) ? progress.history : [];
    const finished = FINISHED.has(job.state);
    let fraction = null;
    if (job.state === "succeeded") fraction = 1;
    else if (epochs && progress.epoch) {
      const within = batchesPerEpoch && progress.batch ? Math.min(1, progress.batch / batchesPerEpoch) : 0;
      fraction = Math.min(1, (progress.epoch - 1 + within) / epochs);
    }

    replace(stateArea,
      h("p", {}, statePill(job), progressText(job) === "—" ? null : [" ", h("span", { text: progressText(job) })]),
      fraction === null || finished ? null : h("progress", { max: "1", value: String(fraction), "aria-label": "Training progress" }));

    const rows = [
      ["Dataset", dataset ? link(`/datasets/${dataset.id}`, `${dataset.name} v${dataset.version}`, navigate) : job.dataset_id],
      ["Model name", job.model_name],
      ["Phase", progress.phase || (job.state === "queued" ? "waiting for a worker" : "—")],
      ["Epoch", progress.epoch ? `${progress.epoch}${epochs ? ` of ${epochs}` : ""}` : `— of ${epochs ?? "?"}`],
      ["Batch", progress.batch ? `${progress.batch}${batchesPerEpoch ? ` of ${batchesPerEpoch}` : ""}` : "—"],
      ["Attempt", job.attempts || "—"],
      ["Created", formatDate(job.created_at)],
      ["Started", formatDate(job.started_at)],
      ["Last heartbeat", formatDate(job.heartbeat_at)],
      ["Finished", formatDate(job.finished_at)],
      job.error ? ["Error", h("span", { class: job.state === "failed" ? "error" : "", text: job.error })] : null,
      job.model_version ? ["Model version", link(`/models/${job.model_name}/${job.model_version}`,
        `${job.model_name} v${job.model_version}${progress.status ? ` (${progress.status})` : ""}`, navigate)] : null,
      progress.gate ? ["Gate", h("span", {}, h("span", { class: `pill state-${progress.gate.promote ? "passed" : "rejected"}`,
        text: progress.gate.promote ? "passed" : "rejected" }), h("span", { class: "gate-reason", text: progress.gate.reason || "" }))] : null,
    ].filter(Boolean);
    replace(details, rows.map(([key, value]) => [h("dt", { text: key }), h("dd", {}, value instanceof Node ? value : String(value))]));

    cancel.disabled = finished || job.cancel_requested;
    cancel.textContent = job.cancel_requested && !finished ? "Cancel requested" : "Cancel job";
    cancel.hidden = finished;

    const metrics = progress.metrics || {};
    const names = METRICS.filter((name) => name in metrics || `val_${name}` in metrics);
    const others = Object.keys(metrics).filter((name) => !METRICS.includes(name.replace(/^val_/, "")));
    replace(metricsArea, names.length || others.length
      ? [
        h("p", { class: "hint", text: progress.epoch ? `As of epoch ${progress.epoch}, batch ${progress.batch ?? "—"}. Training values are the epoch's running means; validation values come at each epoch's end.` : "" }),
        h("div", { class: "table-scroll" }, table(["Metric", "Training", "Validation"],
          [...names.map((name) => [name, formatNumber(metrics[name], 4), formatNumber(metrics[`val_${name}`], 4)]),
            ...others.map((name) => [name, formatNumber(metrics[name], 4), ""])])),
      ]
      : h("p", { class: "empty", text: finished ? "This job reported no metrics." : "No metrics yet: they come with the first batches." }));

    const series = (name, label) => ({ name: label, points: history.filter((entry) => Number.isFinite(entry[name])).map((entry) => [entry.epoch, entry[name]]) });
    const empty = finished ? "No finished epoch" : "Waiting for the first epoch to finish";
    if (finished && !history.length) {
      replace(curves, h("p", { class: "empty", text: "No epoch finished: this job has no loss or AUC curves." }));
    } else replace(curves,
      lineChart("Loss per epoch", [series("loss", "training loss"), series("val_loss", "validation loss")],
        { xLabel: "epoch", yLabel: "loss", xName: "epoch", integerX: true, formatX: (x) => String(x), empty }),
      lineChart("AUC per epoch", [series("auc", "training AUC"), series("val_auc", "validation AUC")],
        { xLabel: "epoch", yLabel: "ROC AUC", xName: "epoch", integerX: true, formatX: (x) => String(x), yMin: 0, yMax: 1, empty }));

    const perEpoch = batchesPerEpoch || Math.max(1, ...[...polled.values()].map((point) => point.batch));
    const points = [...polled.values()].map((point) => [point.epoch - 1 + point.batch / perEpoch, point.loss]).sort((a, b) => a[0] - b[0]);
    if (finished && points.length < 2) {
      replace(batchArea, h("p", { class: "hint", text: "The batch loss is drawn while this page follows a running job." }));
      return;
    }
    replace(batchArea, lineChart("Batch loss as polled", [{ name: "training loss (running mean of the epoch)", points }],
      { xLabel: "epochs done", yLabel: "loss", xName: "epochs done",
        empty: finished ? "This page saw no training batch" : "Waiting for batches",
        note: "One point per progress report this page saw (every 2 s while it is open)." }));
  }

  async function cancelJob() {
    problem.hidden = true;
    cancel.disabled = true;
    try {
      job = await api(annotation(`training-jobs/${job.id}/cancel`), { method: "POST" });
      say(job.state === "cancelled" ? "The job is cancelled." : "Cancel requested: the job stops before its next batch.", "ok");
      show();
      if (!FINISHED.has(job.state) && !timer && !stopped) timer = setTimeout(poll, POLL_MS);
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
      cancel.disabled = FINISHED.has(job.state);
    }
  }

  async function poll() {
    timer = null;
    try {
      const fresh = await api(annotation(`training-jobs/${job.id}`));
      if (stopped) return;
      job = fresh;
      remember(job.progress || {});
      show();
      if (job.state !== lastState) {
        say(`Job ${shortId(job.id)}: ${job.state}${job.error ? ` (${job.error})` : ""}.`, job.state === "failed" ? "error" : "ok");
        lastState = job.state;
      }
    } catch (error) {
      if (stopped) return;
      say(`Could not refresh the job (${error.message}); retrying.`, "error");
    }
    if (!stopped && !FINISHED.has(job.state)) timer = setTimeout(poll, POLL_MS);
  }

  remember(job.progress || {});
  show();
  if (!FINISHED.has(job.state)) timer = setTimeout(poll, POLL_MS);
  return () => { stopped = true; clearTimeout(timer); };
}
