// Adjudication: disputed images with every annotator's current label and confidence side by
// side; the admin's decision is recorded as an adjudication (history kept) and settles the dispute.

import { annotation, api, blobOf, imageUrl, query } from "../api.js";
import { field, formatDate, formatNumber, h, replace, say, shortId, table } from "../dom.js";
import { photoViewer } from "../viewer.js";

export async function render(root) {
  const list = h("ol", { class: "dispute-list", "aria-label": "Disputed images" });
  const detail = h("section", { class: "card", "aria-label": "Dispute" });
  const count = h("p", {});
  replace(root, h("h1", { text: "Adjudication" }), count, h("div", { class: "grid2" }, detail, h("section", { class: "card" }, h("h2", { text: "Waiting for a decision" }), list)));
  let objectUrl = null;

  async function load(selectFirst = true) {
    const page = await api(annotation(`consensus${query({ disputed: true, limit: 100 })}`));
    count.textContent = page.total === 0 ? "No disputed images: every labelled image has agreement or a decision." : `${page.total} disputed image(s).`;
    replace(list, page.items.map((item) => h("li", {}, h("button", {
      type: "button", class: "secondary", "aria-label": `Open dispute ${shortId(item.image_id)}`,
      onclick: () => open(item.image_id),
    }, `${shortId(item.image_id)} — benign ${item.votes.benign}, malignant ${item.votes.malignant}`))));
    if (page.items.length === 0) replace(detail, h("p", { text: "Nothing to adjudicate." }));
    else if (selectFirst) await open(page.items[0].image_id);
  }

  async function open(imageId) {
    const [labels, blob] = await Promise.all([api(annotation(`images/${imageId}/annotations`)), blobOf(imageUrl(imageId))]);
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(blob);
    const viewer = photoViewer(`Disputed photo ${imageId}`);
    const current = labels.annotations.filter((entry) => entry.current);
    const note = h("textarea", { name: "note", rows: "3", maxlength: "2000" });
    const decide = (label) => async () => {
      try {
        await api(annotation(`images/${imageId}/adjudication`), { method: "POST", json: { label, note: note.value } });
        say(`Decided ${label} for ${shortId(imageId)}.`, "ok");
        await load();
      } catch (error) {
        say(error.message, "error");
      }
    };
    replace(detail,
      h("h2", { text: `Image ${shortId(imageId)}` }),
      h("div", { class: "side-by-side" },
        viewer.element,
        h("div", {},
          table(["Annotator", "Label", "Confidence", "When"], current.map((entry) => [
            shortId(entry.annotator_id),
            h("span", { class: `pill ${entry.label}`, text: entry.label }),
            formatNumber(entry.confidence, 1),
            formatDate(entry.created_at),
          ]), "Current labels, side by side"),
          labels.consensus ? h("p", { text: `Majority: ${labels.consensus.label}, agreement ${formatNumber(labels.consensus.agreement, 2)}.` }) : null,
          field("Note (kept with the decision)", note),
          h("div", { class: "row" },
            h("button", { type: "button", class: "benign", onclick: decide("benign") }, "Decide benign"),
            h("button", { type: "button", class: "malignant", onclick: decide("malignant") }, "Decide malignant")),
          labels.adjudications.length ? table(["Decision", "Note", "When", "Current"], labels.adjudications.map((entry) => [
            entry.label, entry.note || "—", formatDate(entry.created_at), entry.current ? "yes" : "superseded",
          ]), "Earlier decisions") : null)));
    await viewer.show(objectUrl, `Disputed photo ${imageId}`);
  }

  await load();
  return () => { if (objectUrl) URL.revokeObjectURL(objectUrl); };
}
