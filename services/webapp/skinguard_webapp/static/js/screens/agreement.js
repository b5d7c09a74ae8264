// Agreement: Cohen's kappa for every pair of annotators as a heatmap, Fleiss' kappa, counts.

import { annotation, api } from "../api.js";
import { formatNumber, h, replace, shortId, table } from "../dom.js";

// Kappa -1..1 to a colour from red (disagreement) through white to blue (agreement); the cell's
// text stays dark on every shade for contrast.
function shade(kappa) {
  if (kappa === null || kappa === undefined) return "#e2e8f0";
  const strength = Math.min(1, Math.abs(kappa));
  const mix = (to) => Math.round(255 + (to - 255) * strength * 0.6);
  return kappa >= 0 ? `rgb(${mix(40)}, ${mix(120)}, 255)` : `rgb(255, ${mix(60)}, ${mix(60)})`;
}

export async function render(root) {
  const result = await api(annotation("annotations/agreement"));
  const annotators = [...new Set(result.pairs.flatMap((pair) => [pair.annotator_a, pair.annotator_b]))].sort();
  const kappaOf = new Map(result.pairs.map((pair) => [`${pair.annotator_a}|${pair.annotator_b}`, pair]));
  const pairOf = (a, b) => kappaOf.get(`${a}|${b}`) || kappaOf.get(`${b}|${a}`);
  const heatmap = h("table", { class: "heatmap", "aria-label": "Cohen's kappa per pair of annotators" },
    h("caption", { text: "Cohen's kappa per pair (images both labelled in brackets)" }),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Annotator" }), annotators.map((id) => h("th", { scope: "col", text: shortId(id) })))),
    h("tbody", {}, annotators.map((a) => h("tr", {}, h("th", { scope: "row", text: shortId(a) }), annotators.map((b) => {
      if (a === b) return h("td", { class: "diagonal", text: "—" });
      const pair = pairOf(a, b);
      const cell = h("td", { text: pair ? `${formatNumber(pair.cohen_kappa, 2)} (${pair.images})` : "no overlap" });
      cell.style.background = shade(pair?.cohen_kappa);
      return cell;
    })))));
  replace(root,
    h("h1", { text: "Agreement" }),
    h("section", { class: "card" },
      h("h2", { text: "Overall" }),
      h("dl", { class: "meta" },
        h("dt", { text: "Fleiss' kappa" }), h("dd", { id: "fleiss-kappa", text: formatNumber(result.fleiss_kappa, 3) }),
        h("dt", { text: "Images with two or more labels" }), h("dd", { text: String(result.images) }),
        h("dt", { text: "Annotators" }), h("dd", { text: String(result.annotators) }),
        h("dt", { text: "Current labels" }), h("dd", { text: String(result.labels) }))),
    h("section", { class: "card" }, h("h2", { text: "Pairs" }),
      annotators.length ? heatmap : h("p", { text: "No two annotators have labelled the same image yet." }),
      result.pairs.length ? table(["Annotator A", "Annotator B", "Images", "Observed agreement", "Cohen's kappa"],
        result.pairs.map((pair) => [shortId(pair.annotator_a), shortId(pair.annotator_b), String(pair.images),
          formatNumber(pair.observed_agreement, 2), formatNumber(pair.cohen_kappa, 3)]), "The same figures as a table") : null));
}
