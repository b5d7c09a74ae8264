// A photo with zoom (wheel, + and -, 0 resets) and pan (drag), by CSS transform only.

import { h } from "./dom.js";

export function photoViewer(label) {
  const image = h("img", { alt: label, draggable: "false" });
  const frame = h("div", { class: "viewer", role: "img", "aria-label": label }, image);
  let scale = 1;
  let x = 0;
  let y = 0;
  let drag = null;
  const apply = () => { image.style.transform = `translate(${x}px, ${y}px) scale(${scale})`; };
  const zoom = (factor) => {
    scale = Math.min(8, Math.max(1, scale * factor));
    if (scale === 1) { x = 0; y = 0; }
    apply();
  };
  frame.addEventListener("wheel", (event) => { event.preventDefault(); zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2); }, { passive: false });
  frame.addEventListener("pointerdown", (event) => { drag = { x: event.clientX - x, y: event.clientY - y }; frame.setPointerCapture(event.pointerId); });
  frame.addEventListener("pointermove", (event) => {
    if (!drag || scale === 1) return;
    x = event.clientX - drag.x;
    y = event.clientY - drag.y;
    apply();
  });
  frame.addEventListener("pointerup", () => { drag = null; });
  return {
    element: frame,
    image,
    zoomIn: () => zoom(1.25),
    zoomOut: () => zoom(1 / 1.25),
    reset: () => { scale = 1; x = 0; y = 0; apply(); },
    async show(url, description) {
      scale = 1; x = 0; y = 0; apply();
      image.src = url;
      image.alt = description;
      frame.setAttribute("aria-label", description);
      try { await image.decode(); } catch { /* shown as broken */ }
    },
  };
}
