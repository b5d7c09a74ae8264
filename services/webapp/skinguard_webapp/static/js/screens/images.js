// Images: the gallery with filters, a record's page with its label history, and upload by drag
// and drop (the server's validation errors shown as written). Uploaders see only their own.

import { annotation, api, imageUrl, ingestion, query } from "../api.js";
import { field, formatDate, formatNumber, h, link, replace, say, shortId, table } from "../dom.js";

const PAGE = 24;

export async function render(root, { session, rest, navigate }) {
  if (rest.length && rest[0]) return renderRecord(root, rest[0], session, navigate);
  const admin = session.user.role === "admin";
  const canUpload = ["uploader", "importer", "admin"].includes(session.user.role);
  const inputs = {
    source: h("input", { name: "source", maxlength: "64" }),
    created_after: h("input", { name: "created_after", type: "date" }),
    created_before: h("input", { name: "created_before", type: "date" }),
    low_resolution: h("select", { name: "low_resolution" }, h("option", { value: "", text: "any" }), h("option", { value: "true", text: "low resolution only" }), h("option", { value: "false", text: "normal only" })),
  };
  if (admin) {
    inputs.label = h("select", { name: "label" }, ["", "benign", "malignant"].map((value) => h("option", { value, text: value || "any" })));
    inputs.disputed = h("select", { name: "disputed" }, h("option", { value: "", text: "any" }), h("option", { value: "true", text: "disputed" }), h("option", { value: "false", text: "not disputed" }));
  }
  const gallery = h("ul", { class: "gallery", "aria-label": "Images" });
  const summary = h("p", { "aria-live": "polite" });
  const pager = h("div", { class: "row" });
  let offset = 0;

  const filters = h("form", { class: "card row", "aria-label": "Filters", onsubmit: (event) => { event.preventDefault(); offset = 0; load(); } },
    field("Source", inputs.source), field("Uploaded after", inputs.created_after), field("Uploaded before", inputs.created_before),
    field("Resolution", inputs.low_resolution),
    admin ? field("Consensus label", inputs.label) : null, admin ? field("Disputed", inputs.disputed) : null,
    h("button", { type: "submit", text: "Apply filters" }));

  function day(value, endOfDay) {
    return value ? new Date(`${value}T${endOfDay ? "23:59:59.999" : "00:00:00"}Z`).toISOString() : "";
  }

  async function records() {
    const values = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value]));
    const common = {
      source: values.source, created_after: day(values.created_after), created_before: day(values.created_before, true),
      low_resolution: values.low_resolution,
    };
    if (!values.label && !values.disputed) {
      const page = await api(ingestion(`images${query({ ...common, limit: PAGE, offset })}`));
      return { items: page.items, total: page.total };
    }
    // By consensus: the annotation service knows labels and disputes, ingestion the records.
    const page = await api(annotation(`consensus${query({ label: values.label, disputed: values.disputed, source: values.source, limit: PAGE, offset })}`));
    const items = await Promise.all(page.items.map((item) => api(ingestion(`images/${item.image_id}`)).then((record) => ({ ...record, consensus: item }))));
    return { items, total: page.total };
  }

  async function load() {
    try {
      const { items, total } = await records();
      summary.textContent = total ? `${offset + 1}–${offset + items.length} of ${total} image(s).` : "No images match.";
      replace(gallery, items.map((record) => h("li", {},
        link(`/images/${record.id}`,
          h("img", { src: imageUrl(record.id), alt: `Photo ${shortId(record.id)}`, loading: "lazy", width: "160", height: "160" }), navigate),
        h("div", {}, h("strong", { text: shortId(record.id) }), " ", record.source || ""),
        record.consensus ? h("span", { class: `pill ${record.consensus.label}`, text: `${record.consensus.label}${record.consensus.disputed ? ", disputed" : ""}` }) : null,
        (record.metadata?.flags || []).includes("low_resolution") ? h("span", { class: "pill", text: "low resolution" }) : null)));
      replace(pager,
        h("button", { type: "button", class: "secondary", disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, "Previous page"),
        h("button", { type: "button", class: "secondary", disabled: offset + PAGE >= total, onclick: () => { offset += PAGE; load(); } }, "Next page"));
    } catch (error) {
      say(error.message, "error");
    }
  }

  replace(root, h("h1", { text: "Images" }), canUpload ? uploader(load) : null, filters, summary, gallery, pager);
  await load();
}

function uploader(afterUpload) {
  const file = h("input", { type: "file", name: "image", accept: "image/jpeg,image/png", multiple: true });
  const extra = {
    location: h("input", { name: "location", maxlength: "200" }),
    lesion_id: h("input", { name: "lesion_id", maxlength: "64" }),
    patient_id: h("input", { name: "patient_id", maxlength: "128", autocomplete: "off" }),
    source: h("input", { name: "source", maxlength: "64" }),
    notes: h("input", { name: "notes", maxlength: "2000" }),
  };
  const results = h("ul", { class: "upload-results", "aria-live": "polite", "aria-label": "Upload results" });

  async function send(files) {
    for (const photo of files) {
      const form = new FormData();
      form.append("image", photo);
      for (const [name, input] of Object.entries(extra)) if (input.value.trim()) form.append(name, input.value.trim());
      const line = h("li", { text: `${photo.name}: uploading…` });
      results.prepend(line);
      try {
        const record = await api(ingestion("images/upload"), { method: "POST", body: form });
        line.textContent = `${photo.name}: ${record.duplicate ? "already stored" : "stored"} as ${shortId(record.id)}.`;
        line.className = "ok";
      } catch (error) {
        line.textContent = `${photo.name}: refused — ${error.message}`;
        line.className = "error";
      }
    }
    afterUpload();
  }

  const zone = h("div", { class: "dropzone", tabindex: "0", role: "button", "aria-label": "Drop photos here or press Enter to choose files",
    onclick: () => file.click(),
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); file.click(); } },
    ondragover: (event) => { event.preventDefault(); zone.classList.add("over"); },
    ondragleave: () => zone.classList.remove("over"),
    ondrop: (event) => { event.preventDefault(); zone.classList.remove("over"); send([...event.dataTransfer.files]); },
  }, "Drop JPEG or PNG photos here, or press to choose files");
  file.addEventListener("change", () => { send([...file.files]); file.value = ""; });
  return h("section", { class: "card", "aria-label": "Upload" },
    h("h2", { text: "Upload" }),
    h("div", { class: "row" }, field("Body site", extra.location), field("Lesion id", extra.lesion_id), field("Patient id", extra.patient_id, "pseudonymised on arrival"), field("Source", extra.source), field("Notes", extra.notes)),
    zone, field("Or choose files", file), results);
}

async function renderRecord(root, imageId, session, navigate) {
  const record = await api(ingestion(`images/${imageId}`));
  const labeller = ["annotator", "importer", "admin"].includes(session.user.role);
  const history = labeller ? await api(annotation(`images/${imageId}/annotations`)) : null;
  const quality = record.quality || {};
  const details = [
    ["Id", record.id], ["Uploaded", formatDate(record.created_at)], ["Format", record.format], ["Size", `${record.width} × ${record.height}`],
    ["Source", record.source || "—"], ["Lesion", record.lesion_id || "—"], ["Patient (pseudonym)", record.patient_pseudonym || "—"],
    ...Object.entries(record.metadata || {}).map(([key, value]) => [key, Array.isArray(value) ? value.join(", ") || "—" : value ?? "—"]),
    ["Blur score", formatNumber(quality.blur_score, 1)], ["Brightness", formatNumber(quality.brightness_score, 1)], ["Contrast", formatNumber(quality.contrast_score, 1)],
  ];
  const erase = session.user.role === "uploader" ? h("button", { type: "button", class: "malignant", onclick: async () => {
    if (!confirm(`Erase photo ${shortId(imageId)} and its labels? This cannot be undone.`)) return;
    try {
      await api(ingestion(`images/${imageId}`), { method: "DELETE" });
      say("Erased.", "ok");
      navigate("/images");
    } catch (error) { say(error.message, "error"); }
  } }, "Erase this photo") : null;
  replace(root,
    h("p", {}, link("/images", "← All images", navigate)),
    h("h1", { text: `Image ${shortId(imageId)}` }),
    h("div", { class: "side-by-side" },
      h("img", { class: "record-photo", src: imageUrl(imageId), alt: `Photo ${imageId}` }),
      h("section", { class: "card" }, h("h2", { text: "Record" }),
        h("dl", { class: "meta" }, details.map(([key, value]) => [h("dt", { text: key }), h("dd", { text: String(value) })])), erase)),
    history ? h("section", { class: "card" }, h("h2", { text: "Label history" }),
      history.consensus ? h("p", { text: `Consensus: ${history.consensus.label}${history.consensus.adjudicated ? " (decided by an admin)" : ""}${history.consensus.disputed ? ", disputed" : ""}.` }) : null,
      history.annotations.length ? table(["Annotator", "Label", "Confidence", "When", "Current"], history.annotations.map((entry) => [
        shortId(entry.annotator_id), entry.label, formatNumber(entry.confidence, 1), formatDate(entry.created_at), entry.current ? "yes" : "superseded",
      ])) : h("p", { text: "No labels yet." }),
      history.adjudications.length ? table(["Decision", "Note", "When", "Current"], history.adjudications.map((entry) => [
        entry.label, entry.note || "—", formatDate(entry.created_at), entry.current ? "yes" : "superseded",
      ]), "Admin decisions") : null) : null);
}
