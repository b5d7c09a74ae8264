// Labelling: the blind queue, one photo at a time; keyboard first (B / M, 1-5, arrows, U).
// The next photos are fetched ahead as blobs so the next one shows at once; labels are sent
// in the background and a failed one comes back to the screen with the server's reason.

import { annotation, api, blobOf, imageUrl, ingestion, query } from "../api.js";
import { h, replace, say } from "../dom.js";
import { photoViewer } from "../viewer.js";

const PREFETCH = 5;
const KEEP_FOR_UNDO = 20; // labelled photos whose pixels stay in memory for U
const CONFIDENCE = { 1: 0.2, 2: 0.4, 3: 0.6, 4: 0.8, 5: 1.0 };
// Key press -> next photo shown, in ms: read by the browser benchmark (bench/webapp_labelling.py).
window.skinguardLabelTimings = window.skinguardLabelTimings || [];

export async function render(root) {
  const queue = [];      // items not yet labelled in this session, current first
  const seen = new Set(); // ids labelled or skipped here: not taken from the server again
  const skipped = [];    // for ArrowLeft
  const done = [];       // [{item, label}] for U (undo)
  let remaining = null;
  let labelled = 0;
  let confidence = null;
  let loading = null;
  let displayed = null;   // the item whose pixels are on screen: the only one a key may label

  const viewer = photoViewer("No photo yet");
  const metadata = h("dl", { class: "meta", "aria-label": "Photo details" });
  const progress = h("p", { id: "label-progress", "aria-live": "polite" });
  const confidenceGroup = h("fieldset", { class: "row" }, h("legend", { text: "Confidence (1-5)" }),
    [1, 2, 3, 4, 5].map((level) => h("label", {}, h("input", {
      type: "radio", name: "confidence", value: String(level),
      onchange: () => { confidence = level; },
    }), ` ${level}`)));
  const benign = h("button", { type: "button", class: "benign", "aria-keyshortcuts": "B", onclick: () => label("benign") }, "Benign (B)");
  const malignant = h("button", { type: "button", class: "malignant", "aria-keyshortcuts": "M", onclick: () => label("malignant") }, "Malignant (M)");
  const controls = h("div", { class: "row" }, benign, malignant,
    h("button", { type: "button", class: "secondary", "aria-keyshortcuts": "ArrowLeft", onclick: () => back() }, "← Previous skipped"),
    h("button", { type: "button", class: "secondary", "aria-keyshortcuts": "ArrowRight", onclick: () => skip() }, "Skip →"),
    h("button", { type: "button", class: "secondary", "aria-keyshortcuts": "U", onclick: () => undo() }, "Undo last (U)"),
    h("button", { type: "button", class: "secondary", "aria-label": "Zoom in", onclick: () => viewer.zoomIn() }, "+"),
    h("button", { type: "button", class: "secondary", "aria-label": "Zoom out", onclick: () => viewer.zoomOut() }, "−"));

  replace(root,
    h("h1", { text: "Label" }),
    h("div", { class: "grid2" },
      h("section", { "aria-label": "Photo" }, viewer.element),
      h("section", { class: "card", "aria-label": "Decision" },
        progress, controls, confidenceGroup,
        h("p", { class: "keys" }, h("kbd", { text: "B" }), " benign, ", h("kbd", { text: "M" }), " malignant, ",
          h("kbd", { text: "1" }), "–", h("kbd", { text: "5" }), " confidence, ", h("kbd", { text: "→" }), " skip, ",
          h("kbd", { text: "←" }), " back, ", h("kbd", { text: "U" }), " undo, ", h("kbd", { text: "+" }), "/",
          h("kbd", { text: "−" }), " zoom, ", h("kbd", { text: "0" }), " reset. Other annotators' labels are never shown."),
        h("h2", { text: "Details" }), metadata)));

  function fetchAhead() {
    for (const item of queue.slice(0, PREFETCH + 1)) {
      if (!item.url) item.url = blobOf(imageUrl(item.image_id)).then((blob) => URL.createObjectURL(blob));
      if (!item.record) item.record = api(ingestion(`images/${item.image_id}`)).catch(() => null);
    }
  }

  async function refill() {
    if (loading) return loading;
    loading = (async () => {
      const page = await api(annotation(`annotation-queue${query({ limit: 20 })}`));
      remaining = page.remaining;
      for (const item of page.items) {
        if (!seen.has(item.image_id) && !queue.some((queued) => queued.image_id === item.image_id)) queue.push(item);
      }
      fetchAhead();
    })().finally(() => { loading = null; });
    return loading;
  }

  async function describe(item) {
    const record = (await item.record) || {};
    const quality = record.quality || {};
    const fields = { ...(record.metadata || {}), ...item.metadata };
    const rows = [
      ["Image", item.image_id],
      ["Size", `${item.width} × ${item.height}`],
      ["Source", record.source],
      ["Lesion", record.lesion_id],
      ...Object.entries(fields).filter(([, value]) => typeof value !== "object" || value === null).map(([key, value]) => [key, value]),
      ["Flags", (fields.flags || []).join(", ")],
      ["Blur score", quality.blur_score?.toFixed(1)],
      ["Brightness", quality.brightness_score?.toFixed(1)],
      ["Contrast", quality.contrast_score?.toFixed(1)],
      ["File size", quality.file_size ? `${Math.round(quality.file_size / 1024)} KiB` : null],
    ].filter(([, value]) => value !== null && value !== undefined && value !== "");
    if (queue[0] === item) replace(metadata, rows.map(([key, value]) => [h("dt", { text: key }), h("dd", { text: String(value) })]));
  }

  function showProgress() {
    const left = remaining === null ? "" : `, about ${Math.max(0, remaining - labelled)} waiting`;
    progress.textContent = `${labelled} labelled this session${left}.`;
  }

  async function show(started) {
    const item = queue[0];
    showProgress();
    if (!item) {
      await refill().catch((error) => say(error.message, "error"));
      if (!queue[0]) {
        benign.disabled = malignant.disabled = true;
        displayed = null;
        await viewer.show("", "Nothing left to label");
        replace(metadata);
        progress.textContent = `${labelled} labelled this session. The queue is empty: nothing waits for your label.`;
        return;
      }
      return show(started);
    }
    benign.disabled = malignant.disabled = false;
    fetchAhead();
    const url = await item.url;
    if (queue[0] !== item) return; // moved on while the pixels loaded: a later show() draws
    displayed = item;
    await viewer.show(url, `Lesion photo ${item.image_id}`);
    if (queue[0] !== item) return;
    describe(item);
    if (started !== undefined) {
      requestAnimationFrame(() => window.skinguardLabelTimings.push(performance.now() - started));
    }
    if (queue.length <= PREFETCH) refill().catch((error) => say(error.message, "error"));
  }

  // A key pressed while the next photo is still loading must not label a photo nobody saw.
  function onScreen() {
    if (queue[0] && queue[0] === displayed) return true;
    if (queue[0]) say("The next photo is still loading: nothing was labelled.");
    return false;
  }

  function label(value) {
    if (!onScreen()) return;
    const item = queue.shift();
    const started = performance.now();
    const chosen = confidence;
    seen.add(item.image_id);
    done.push({ item, label: value });
    if (done.length > KEEP_FOR_UNDO) forget(done[done.length - KEEP_FOR_UNDO - 1].item);
    labelled += 1;
    show(started);
    // A photo labelled again after U is sent only once its earlier label has settled, so the
    // server records them in the order given and the newer one is current.
    const attempt = (item.attempts = (item.attempts || 0) + 1);
    const send = () => api(annotation(`images/${item.image_id}/annotate`), {
      method: "POST",
      json: { label: value, confidence: chosen === null ? null : CONFIDENCE[chosen] },
    });
    item.saving = (item.saving || Promise.resolve()).catch(() => {}).then(send);
    item.saving.then(() => say(`Labelled ${value}.`, "ok")).catch((error) => {
      if (item.attempts !== attempt) return say(`An earlier label was not saved (${error.message}); the newer one stands.`, "error");
      say(`Not saved (${error.message}); the photo is back in front of you.`, "error");
      const undone = done.findIndex((entry) => entry.item === item);
      if (undone >= 0) {
        labelled -= 1;
        done.splice(undone, 1);
      }
      seen.delete(item.image_id);
      if (!queue.includes(item)) queue.unshift(item);
      show();
    });
  }

  function forget(item) {
    const url = item.url;
    item.url = null; // fetched again if it comes back to the screen
    url?.then((objectUrl) => URL.revokeObjectURL(objectUrl)).catch(() => {});
  }

  function skip() {
    if (!onScreen()) return;
    const item = queue.shift();
    seen.add(item.image_id);
    skipped.push(item);
    show();
  }

  function back() {
    const item = skipped.pop();
    if (!item) return say("No skipped photo to go back to.");
    queue.unshift(item);
    show();
  }

  function undo() {
    const last = done.pop();
    if (!last) return say("Nothing to undo yet.");
    labelled -= 1;
    queue.unshift(last.item);
    say(`Back to the photo you labelled ${last.label}: a new label replaces it (the history keeps both).`);
    show();
  }

  function onKey(event) {
    if (event.target.closest("input, textarea, select") && event.target.type !== "radio") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    const actions = {
      b: () => label("benign"), m: () => label("malignant"), u: () => undo(),
      arrowright: () => skip(), arrowleft: () => back(),
      "+": () => viewer.zoomIn(), "=": () => viewer.zoomIn(), "-": () => viewer.zoomOut(), 0: () => viewer.reset(),
    };
    if (key in CONFIDENCE) {
      confidence = Number(key);
      confidenceGroup.querySelector(`input[value="${key}"]`).checked = true;
      event.preventDefault();
    } else if (actions[key]) {
      event.preventDefault();
      actions[key]();
    }
  }

  document.addEventListener("keydown", onKey);
  await refill();
  await show();
  return () => {
    document.removeEventListener("keydown", onKey);
    for (const item of [...queue, ...skipped, ...done.map((entry) => entry.item)]) forget(item);
  };
}
