// Small SVG charts (line, grouped or stacked bars, histogram) built with createElementNS: no
// markup strings, no inline styles (colours and dashes come from admin.css classes). Each chart
// is a <figure>: a visible caption with its legend, then the <svg role="img"> whose aria-label
// reads out the data; every mark also carries a <title> (a tooltip) with its value.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = { top: 14, right: 18, bottom: 44, left: 62 };
const SERIES_CLASSES = 6; // .s0 … .s5 in admin.css
const MAX_LABEL_CHARS = 400;

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const tooltip = (text) => svg("title", {}, text);

export const percent = (value) => (value === null || value === undefined ? "—" : `${(value * 100).toFixed(value < 0.1 && value > 0 ? 1 : 0)}%`);

function plain(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toFixed(3);
}

// Round ticks covering [low, high]: steps of 1, 2 or 5 times a power of ten.
export function ticks(low, high, count = 5, integer = false) {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return [0, 1];
  if (high === low) {
    const pad = integer ? 1 : Math.abs(low) * 0.1 || 1;
    high = low + pad;
    if (!integer && low !== 0) low -= pad;
  }
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normal = raw / magnitude;
  let step = (normal < 1.5 ? 1 : normal < 3 ? 2 : normal < 7 ? 5 : 10) * magnitude;
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.floor(low / step + 1e-9) * step;
  const last = Math.ceil(high / step - 1e-9) * step;
  const found = [];
  for (let value = first; value <= last + step / 2; value += step) found.push(Number(value.toFixed(10)));
  return found;
}

// Tick labels with as many decimals as the step between ticks needs (0.2 -> "0.4", 5 -> "10").
function tickFormat(values) {
  const step = values.length > 1 ? Math.abs(values[1] - values[0]) : 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return (value) => value.toFixed(decimals);
}

function summarise(text) {
  return text.length > MAX_LABEL_CHARS ? `${text.slice(0, MAX_LABEL_CHARS - 1)}…` : text;
}

function seriesClass(series, index) {
  return series.className || `s${index % SERIES_CLASSES}`;
}

function legend(series, kind, always) {
  if (!series.length || (series.length < 2 && kind !== "line" && !always)) return null;
  return h("ul", { class: "legend" }, series.map((item, index) =>
    h("li", {}, h("span", { class: `swatch ${kind} ${seriesClass(item, index)}`, "aria-hidden": "true" }), item.name)));
}

function figure(title, series, kind, chart, note, alwaysLegend = false) {
  return h("figure", { class: "chart-figure" },
    h("figcaption", {}, h("span", { class: "chart-title", text: title }), legend(series, kind, alwaysLegend)),
    chart,
    note ? h("p", { class: "hint chart-note", text: note }) : null);
}

function frame(label) {
  return svg("svg", {
    class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summarise(label),
    preserveAspectRatio: "xMidYMid meet",
  });
}

function emptyChart(title, message) {
  const chart = frame(`${title}: ${message}`);
  chart.append(svg("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle", class: "chart-empty" }, message));
  return figure(title, [], "bar", chart);
}

function yAxis(chart, scaleY, yTicks, format, title) {
  format = format || tickFormat(yTicks);
  const group = svg("g", { class: "axis y-axis" });
  for (const value of yTicks) {
    const y = scaleY(value);
    group.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y, y2: y, class: "grid" }),
      svg("text", { x: MARGIN.left - 6, y: y + 4, "text-anchor": "end" }, format(value)));
  }
  if (title) {
    const middle = (MARGIN.top + HEIGHT - MARGIN.bottom) / 2;
    group.append(svg("text", { x: 14, y: middle, "text-anchor": "middle", class: "axis-title",
      transform: `rotate(-90 14 ${middle})` }, title));
  }
  chart.append(group);
}

function xAxisLine(chart, title) {
  chart.append(svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: HEIGHT - MARGIN.bottom,
    y2: HEIGHT - MARGIN.bottom, class: "axis-line" }));
  if (title) {
    chart.append(svg("text", { x: (MARGIN.left + WIDTH - MARGIN.right) / 2, y: HEIGHT - 6, "text-anchor": "middle",
      class: "axis-title" }, title));
  }
}

/**
 * Lines over a numeric x axis.
 * series: [{name, points: [[x, y], …], className?}]; options: xLabel, yLabel, yMin, yMax,
 * format (y values), formatX, integerX (whole-number x ticks), empty (message without data).
 */
export function lineChart(title, series, options = {}) {
  const format = options.format || plain;
  const formatX = options.formatX || plain;
  const kept = series.map((item) => ({ ...item,
    points: item.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const all = kept.flatMap((item) => item.points);
  const label = `${title}. ` + kept.filter((item) => item.points.length).map((item) => {
    const first = item.points[0];
    const last = item.points[item.points.length - 1];
    return `${item.name}: ${item.points.length} points, from ${format(first[1])} at ${formatX(first[0])} to ${format(last[1])} at ${formatX(last[0])}`;
  }).join("; ");
  if (!all.length) return emptyChart(title, options.empty || "No data yet");

  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  let xLow = Math.min(...xs);
  let xHigh = Math.max(...xs);
  if (xHigh === xLow) { xLow -= 0.5; xHigh += 0.5; }
  const yTicks = ticks(options.yMin ?? Math.min(...ys), options.yMax ?? Math.max(...ys), 5);
  const yLow = yTicks[0];
  const yHigh = yTicks[yTicks.length - 1];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const scaleX = (x) => MARGIN.left + ((x - xLow) / (xHigh - xLow)) * plotWidth;
  const scaleY = (y) => MARGIN.top + (1 - (y - yLow) / (yHigh - yLow)) * plotHeight;

  const chart = frame(label);
  yAxis(chart, scaleY, yTicks, options.format, options.yLabel);
  xAxisLine(chart, options.xLabel);
  const xTicks = ticks(xLow, xHigh, 6, options.integerX).filter((x) => x >= xLow - 1e-9 && x <= xHigh + 1e-9);
  const xTickText = options.formatX || tickFormat(xTicks);
  const xGroup = svg("g", { class: "axis x-axis" });
  for (const x of xTicks) {
    xGroup.append(
      svg("line", { x1: scaleX(x), x2: scaleX(x), y1: HEIGHT - MARGIN.bottom, y2: HEIGHT - MARGIN.bottom + 4, class: "tick" }),
      svg("text", { x: scaleX(x), y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" }, xTickText(x)));
  }
  chart.append(xGroup);

  kept.forEach((item, index) => {
    if (!item.points.length) return;
    const css = seriesClass(item, index);
    const path = item.points.map(([x, y], at) => `${at ? "L" : "M"}${scaleX(x).toFixed(1)},${scaleY(y).toFixed(1)}`).join(" ");
    const group = svg("g", { class: `series ${css}` }, svg("path", { d: path, class: "line" }));
    const marked = item.points.length <= 60;
    for (const [x, y] of marked ? item.points : [item.points[item.points.length - 1]]) {
      group.append(svg("circle", { cx: scaleX(x), cy: scaleY(y), r: 3.5, class: "dot" },
        tooltip(`${item.name}, ${options.xName || "x"} ${formatX(x)}: ${format(y)}`)));
    }
    chart.append(group);
  });
  return figure(title, kept, "line", chart, options.note);
}

/**
 * Bars per category: grouped side by side, or stacked (options.stacked).
 * categories: [text]; series: [{name, values: [number per category], className?}];
 * options: yLabel, xLabel, yMax, format, integer (whole-number ticks), formatCategory (axis text),
 * legend (shown even for one series), empty.
 */
export function barChart(title, categories, series, options = {}) {
  const format = options.format || plain;
  const value = (item, at) => (Number.isFinite(item.values[at]) ? item.values[at] : 0);
  // The aria-label reads the categories with data; the others are counted, not listed (30 empty days).
  const spoken = categories.map((category, at) => [category, at]).filter(([, at]) => series.some((item) => Number.isFinite(item.values[at])));
  const silent = categories.length - spoken.length;
  const label = `${title}. ` + spoken.map(([category, at]) =>
    `${category}: ${series.map((item) => `${item.name} ${format(item.values[at] ?? null)}`).join(", ")}`).join("; ")
    + (silent && spoken.length ? `; ${silent} other${silent > 1 ? "s" : ""}: none` : silent ? `${silent} categories, all none` : "");
  const anything = series.some((item) => item.values.some((v) => Number.isFinite(v)));
  if (!categories.length || !series.length || !anything) return emptyChart(title, options.empty || "No data");

  const tops = categories.map((_, at) => (options.stacked
    ? series.reduce((sum, item) => sum + value(item, at), 0)
    : Math.max(...series.map((item) => value(item, at)))));
  const yTicks = ticks(0, Math.max(options.yMax ?? 0, ...tops), 5, options.integer);
  const yHigh = yTicks[yTicks.length - 1];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const scaleY = (y) => MARGIN.top + (1 - y / yHigh) * plotHeight;
  const band = plotWidth / categories.length;
  const inner = Math.min(band * 0.8, (options.stacked ? 1 : series.length) * 56); // no bar wider than 56
  const barWidth = options.stacked ? inner : inner / series.length;

  const chart = frame(label);
  yAxis(chart, scaleY, yTicks, options.format, options.yLabel);
  const shown = categories.map((category) => {
    const text = String(options.formatCategory ? options.formatCategory(category) : category);
    return text.length > 18 ? `${text.slice(0, 17)}…` : text;
  });
  const widest = Math.max(...shown.map((text) => text.length)) * 7.2 + 10; // px at the axis font size
  const every = Math.max(1, Math.ceil(categories.length / Math.max(1, Math.floor(plotWidth / widest))));
  const xGroup = svg("g", { class: "axis x-axis" });
  categories.forEach((category, at) => {
    if (at % every) return;
    xGroup.append(svg("text", { x: MARGIN.left + band * (at + 0.5), y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" },
      shown[at], tooltip(String(category))));
  });
  chart.append(xGroup);
  xAxisLine(chart, options.xLabel);

  series.forEach((item, index) => {
    const group = svg("g", { class: `series ${seriesClass(item, index)}` });
    categories.forEach((category, at) => {
      const amount = value(item, at);
      // A measured zero is drawn as a hairline (it is not missing data); stacked zeros add nothing.
      if (!amount && (options.stacked || !Number.isFinite(item.values[at]))) return;
      const below = options.stacked ? series.slice(0, index).reduce((sum, other) => sum + value(other, at), 0) : 0;
      const x = MARGIN.left + band * at + (band - inner) / 2 + (options.stacked ? 0 : barWidth * index);
      const base = scaleY(below);
      const tall = Math.max(2, base - scaleY(below + amount));
      group.append(svg("rect", { x: x.toFixed(1), y: (base - tall).toFixed(1), width: Math.max(1, barWidth - 1).toFixed(1),
        height: tall.toFixed(1), class: "bar" },
      tooltip(`${category}, ${item.name}: ${format(amount)}`)));
    });
    chart.append(group);
  });
  return figure(title, series, "bar", chart, options.note, options.legend);
}

/**
 * Contiguous bars over value ranges. bins: [{lower, upper, count}]; options: xLabel, yLabel, format (edges), empty.
 */
export function histogram(title, bins, options = {}) {
  const format = options.format || plain;
  const total = bins.reduce((sum, bin) => sum + bin.count, 0);
  const label = `${title}. ${total} in all. ` + bins.map((bin) => `${format(bin.lower)} to ${format(bin.upper)}: ${bin.count}`).join("; ");
  if (!bins.length || !total) return emptyChart(title, options.empty || "No data");

  const low = bins[0].lower;
  const high = bins[bins.length - 1].upper;
  const yTicks = ticks(0, Math.max(...bins.map((bin) => bin.count)), 5, true);
  const yHigh = yTicks[yTicks.length - 1];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const scaleX = (x) => MARGIN.left + ((x - low) / (high - low || 1)) * plotWidth;
  const scaleY = (y) => MARGIN.top + (1 - y / yHigh) * plotHeight;

  const chart = frame(label);
  yAxis(chart, scaleY, yTicks, null, options.yLabel);
  xAxisLine(chart, options.xLabel);
  const group = svg("g", { class: `series ${options.className || "s0"}` });
  const edges = svg("g", { class: "axis x-axis" });
  bins.forEach((bin, at) => {
    const x = scaleX(bin.lower);
    const width = scaleX(bin.upper) - x;
    const top = scaleY(bin.count);
    if (bin.count) {
      group.append(svg("rect", { x: (x + 0.5).toFixed(1), y: top.toFixed(1), width: Math.max(1, width - 1).toFixed(1),
        height: (HEIGHT - MARGIN.bottom - top).toFixed(1), class: "bar" },
      tooltip(`${format(bin.lower)}–${format(bin.upper)}: ${bin.count}`)));
    }
    if (at % Math.ceil(bins.length / 10) === 0) {
      edges.append(svg("text", { x, y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" }, format(bin.lower)));
    }
  });
  edges.append(svg("text", { x: scaleX(high), y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" }, format(high)));
  chart.append(group, edges);
  return figure(title, [], "bar", chart, options.note);
}
