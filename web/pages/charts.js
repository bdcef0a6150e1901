// The community host's charts of a series report: attendance per session (bars) and the mean
// survey and feedback ratings per session (two lines), each an `<svg role="img">` named by a
// text that says every figure, with a table of the same figures under it.

import { h } from "/room.js";
import { formatDate, formatList, formatNumber, t } from "/words.js";

const SVG = (tag, props = {}, ...children) => h(`svg:${tag}`, props, ...children);

let chartCount = 0;

/** `ms` as a short date ("Mar 1, 2027"), or "" when there is none. */
export function shortDate(ms) {
  if (typeof ms !== "number") return "";
  return formatDate(ms, { day: "numeric", month: "short", year: "numeric" });
}

/** A mean with one decimal, or a dash when nobody answered. */
function oneDecimal(v) {
  return typeof v === "number" ? formatNumber(v, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) : "–";
}

/** A table under a chart: its figures as text. */
function figuresTable(caption, head, rows, test) {
  return h(
    "table",
    { class: "figures", "data-test": test },
    h("caption", { class: "visually-hidden", text: caption }),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col", text: c })))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, row.map((c, i) => (i === 0 ? h("th", { scope: "row", text: c }) : h("td", { text: c }))))),
    ),
  );
}

const CHART = { w: 360, h: 180, left: 34, right: 10, top: 14, bottom: 30 };

/** The chart's frame: an `<svg role="img">` with a `<title>`, and its plot area's geometry. */
function chartFrame(label, test) {
  chartCount += 1;
  const titleId = `chart-title-${chartCount}`;
  const svg = SVG(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${CHART.w} ${CHART.h}`,
      role: "img",
      "aria-labelledby": titleId,
      "aria-label": label,
      "data-test": test,
      focusable: "false",
    },
    SVG("title", { id: titleId, text: label }),
  );
  const plot = {
    x0: CHART.left,
    x1: CHART.w - CHART.right,
    y0: CHART.h - CHART.bottom,
    y1: CHART.top,
  };
  return { svg, plot };
}

function gridLine(svg, plot, y, label) {
  svg.append(
    SVG("line", { class: "grid", x1: plot.x0, x2: plot.x1, y1: y, y2: y }),
    SVG("text", { class: "tick", x: plot.x0 - 6, y: y + 4, "text-anchor": "end", text: label }),
  );
}

/** The x axis's name under the plot. */
function axisName(svg, plot) {
  svg.append(
    SVG("text", { class: "tick", x: (plot.x0 + plot.x1) / 2, y: CHART.h - 2, "text-anchor": "middle", text: t("pages.chart.axis") }),
  );
}

/** Attendance per session, as bars. */
export function attendanceChart(sessions) {
  const n = sessions.length;
  const label = n
    ? t("pages.chart.attendanceLabel", {
        figures: sessions.map((s, i) => t("pages.chart.attendanceOne", { n: i + 1, count: s.attendance })).join("; "),
      })
    : t("pages.chart.attendanceNone");
  const { svg, plot } = chartFrame(label, "chart-attendance");
  const max = Math.max(1, ...sessions.map((s) => s.attendance || 0));
  const step = max <= 5 ? 1 : Math.ceil(max / 5);
  const top = Math.ceil(max / step) * step;
  const y = (v) => plot.y0 - ((plot.y0 - plot.y1) * v) / top;
  for (let v = 0; v <= top; v += step) gridLine(svg, plot, y(v), formatNumber(v));
  const slot = (plot.x1 - plot.x0) / Math.max(n, 1);
  const width = Math.min(40, slot * 0.6);
  sessions.forEach((s, i) => {
    const cx = plot.x0 + slot * (i + 0.5);
    const v = s.attendance || 0;
    svg.append(
      SVG("rect", { class: "bar", x: cx - width / 2, y: y(v), width, height: plot.y0 - y(v), rx: 2 }),
      SVG("text", { class: "value", x: cx, y: y(v) - 4, "text-anchor": "middle", text: formatNumber(v) }),
      SVG("text", { class: "tick", x: cx, y: plot.y0 + 16, "text-anchor": "middle", text: formatNumber(i + 1) }),
    );
  });
  svg.append(SVG("line", { class: "axis", x1: plot.x0, x2: plot.x1, y1: plot.y0, y2: plot.y0 }));
  axisName(svg, plot);
  const table = figuresTable(
    t("pages.chart.attendance"),
    [t("pages.chart.session"), t("pages.chart.date"), t("pages.chart.present"), t("pages.chart.retention")],
    sessions.map((s, i) => [
      formatNumber(i + 1),
      shortDate(s.started_at) || t("pages.chart.notStarted"),
      formatNumber(s.attendance),
      formatNumber(Math.round((s.retention || 0) * 100) / 100, { style: "percent" }),
    ]),
    "table-attendance",
  );
  return h("figure", { class: "chart-figure" }, h("figcaption", { text: t("pages.chart.attendance") }), svg, table);
}

/** Mean survey and feedback ratings (1 to 5) per session, as two lines. */
export function ratingsChart(sessions) {
  const n = sessions.length;
  const describe = (s, i) =>
    t("pages.chart.ratingsOne", { n: i + 1, survey: oneDecimal(s.survey_mean), feedback: oneDecimal(s.feedback_mean) });
  const label = n
    ? t("pages.chart.ratingsLabel", { figures: sessions.map(describe).join("; ") })
    : t("pages.chart.ratingsNone");
  const { svg, plot } = chartFrame(label, "chart-ratings");
  const y = (v) => plot.y0 - ((plot.y0 - plot.y1) * (v - 1)) / 4;
  for (let v = 1; v <= 5; v += 1) gridLine(svg, plot, y(v), formatNumber(v));
  const slot = (plot.x1 - plot.x0) / Math.max(n, 1);
  const x = (i) => plot.x0 + slot * (i + 0.5);
  sessions.forEach((s, i) => {
    svg.append(SVG("text", { class: "tick", x: x(i), y: plot.y0 + 16, "text-anchor": "middle", text: formatNumber(i + 1) }));
  });
  for (const [field, cls] of [
    ["survey_mean", "survey"],
    ["feedback_mean", "feedback"],
  ]) {
    // A line through the sessions that have a value; a gap where nobody answered.
    let path = "";
    let pen = false;
    sessions.forEach((s, i) => {
      const v = s[field];
      if (typeof v !== "number") {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
      pen = true;
      svg.append(SVG("circle", { class: `point ${cls}`, cx: x(i), cy: y(v), r: 3.5 }));
    });
    if (path) svg.insertBefore(SVG("path", { class: `line ${cls}`, d: path.trim() }), svg.querySelector("circle"));
  }
  axisName(svg, plot);
  if (!svg.querySelector("circle")) {
    svg.append(
      SVG("text", { class: "value", x: (plot.x0 + plot.x1) / 2, y: (plot.y0 + plot.y1) / 2, "text-anchor": "middle", text: t("pages.chart.noRatings") }),
    );
  }
  const legend = h(
    "p",
    { class: "legend", "aria-hidden": "true" },
    h("span", { class: "key survey", text: t("pages.chart.survey") }),
    h("span", { class: "key feedback", text: t("pages.chart.feedback") }),
  );
  const table = figuresTable(
    t("pages.chart.ratingsCaption"),
    [t("pages.chart.session"), t("pages.chart.surveyColumn"), t("pages.chart.feedbackColumn")],
    sessions.map((s, i) => [formatNumber(i + 1), oneDecimal(s.survey_mean), oneDecimal(s.feedback_mean)]),
    "table-ratings",
  );
  return h("figure", { class: "chart-figure" }, h("figcaption", { text: t("pages.chart.ratings") }), svg, legend, table);
}

/** The commitments of a series report in one sentence. */
export function commitmentsLine(c) {
  return t("pages.chart.commitments", {
    figures: formatList([
      t("pages.chart.made", { count: c.made || 0 }),
      t("pages.chart.kept", { count: c.kept || 0 }),
      t("pages.chart.partly", { count: c.partly || 0 }),
      t("pages.chart.not", { count: c.not || 0 }),
      t("pages.chart.changed", { count: c.changed || 0 }),
    ], "unit"),
  });
}
