//! Charts as inline SVG, drawn on the server: columns, paired bars, lines, one stacked bar and
//! a heatmap. Grey and black on white, told apart by shade, dash and marker rather than by
//! colour, so they read the same on paper. Each is an `<svg role="img">` whose `aria-label`
//! names it; the figure around it carries the table of the same figures (see `super::figure`).
//! Every text drawn is escaped here; callers pass plain text.

use std::fmt::Write as _;

use super::escape;

/// The width every chart is drawn at (viewBox units; the page scales it).
const WIDTH: f64 = 640.0;
/// Dark ink, for the main figures and text.
const INK: &str = "#111";
/// The lighter shades, from dark to light.
const SHADES: [&str; 4] = ["#111", "#555", "#999", "#ccc"];

/// The opening tag of a chart `height` units tall, named `label` for screen readers.
fn open(out: &mut String, height: f64, label: &str) {
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-label=\"{}\" focusable=\"false\">",
        escape(label)
    );
}

/// `text` cut to `max` characters, with an ellipsis when cut (labels in narrow places; the
/// full text is in the table beside the chart).
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// Text at a point: `anchor` is `start`, `middle` or `end`.
fn text(out: &mut String, x: f64, y: f64, anchor: &str, size: f64, content: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" font-size=\"{size}\" fill=\"{INK}\">{}</text>",
        escape(content)
    );
}

/// One column per label, `values` scaled to `max` (rounded up to an even number), each with
/// its `shown` value on top.
pub(super) fn columns(label: &str, bars: &[(String, f64, String)], max: f64) -> String {
    let (height, left, top, bottom) = (240.0, 40.0, 20.0, 40.0);
    let plot_w = WIDTH - left - 10.0;
    let plot_h = height - top - bottom;
    // An even top, so the middle grid line falls on a whole number.
    let max = (max / 2.0).ceil().max(1.0) * 2.0;
    let mut out = String::new();
    open(&mut out, height, label);
    axis(&mut out, left, top, plot_w, plot_h, max, |v| {
        format!("{v:.0}")
    });
    let slot = plot_w / bars.len().max(1) as f64;
    let chars = ((slot / 7.0) as usize).max(2);
    for (i, (name, value, shown)) in bars.iter().enumerate() {
        let h = (value / max).clamp(0.0, 1.0) * plot_h;
        let x = left + slot * i as f64 + slot * 0.2;
        let y = top + plot_h - h;
        let _ = writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
            slot * 0.6,
            SHADES[1]
        );
        let middle = x + slot * 0.3;
        text(&mut out, middle, y - 4.0, "middle", 11.0, shown);
        text(
            &mut out,
            middle,
            top + plot_h + 16.0,
            "middle",
            11.0,
            &clip(name, chars),
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The y axis from 0 to `max` (three grid lines, labelled with `tick`) and the baseline.
fn axis(
    out: &mut String,
    left: f64,
    top: f64,
    plot_w: f64,
    plot_h: f64,
    max: f64,
    tick: impl Fn(f64) -> String,
) {
    for step in 0..=2 {
        let value = max * f64::from(step) / 2.0;
        let y = top + plot_h - plot_h * f64::from(step) / 2.0;
        let stroke = if step == 0 { INK } else { "#ccc" };
        let _ = writeln!(
            out,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{stroke}\" stroke-width=\"1\"/>",
            left + plot_w
        );
        text(out, left - 6.0, y + 4.0, "end", 11.0, &tick(value));
    }
}

/// Two bars per row, `first` dark and `second` light, with a legend naming the two (paired
/// bars: planned against actual time).
pub(super) fn paired_bars(
    label: &str,
    legend: (&str, &str),
    rows: &[(String, f64, f64)],
    unit: impl Fn(f64) -> String,
) -> String {
    let (left, row_h, top) = (170.0, 34.0, 30.0);
    let height = top + row_h * rows.len().max(1) as f64 + 10.0;
    let plot_w = WIDTH - left - 60.0;
    let max = rows
        .iter()
        .map(|(_, a, b)| a.max(*b))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut out = String::new();
    open(&mut out, height, label);
    let swatch = |out: &mut String, x: f64, fill: &str, name: &str| {
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{fill}\" stroke=\"{INK}\" stroke-width=\"0.5\"/>"
        );
        text(out, x + 18.0, 16.0, "start", 12.0, name);
    };
    swatch(&mut out, left, SHADES[3], legend.0);
    swatch(&mut out, left + 200.0, SHADES[0], legend.1);
    for (i, (name, first, second)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        text(&mut out, left - 8.0, y + 18.0, "end", 12.0, &clip(name, 24));
        for (j, (value, fill)) in [(first, SHADES[3]), (second, SHADES[0])]
            .into_iter()
            .enumerate()
        {
            let w = value / max * plot_w;
            let by = y + 4.0 + 13.0 * j as f64;
            let _ = writeln!(
                out,
                "<rect x=\"{left}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"12\" fill=\"{fill}\" stroke=\"{INK}\" stroke-width=\"0.5\"/>"
            );
            text(
                &mut out,
                left + w + 4.0,
                by + 10.0,
                "start",
                10.0,
                &unit(*value),
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// One line per series over the same labels, from `min` to `max` (gaps where a value is
/// missing), `tick` labelling the axis. The first series is solid with round markers, the
/// second dashed with square ones.
pub(super) fn lines(
    label: &str,
    labels: &[String],
    series: &[(String, Vec<Option<f64>>)],
    (min, max): (f64, f64),
    tick: impl Fn(f64) -> String,
) -> String {
    let (height, left, top, bottom) = (250.0, 48.0, 34.0, 36.0);
    let plot_w = WIDTH - left - 20.0;
    let plot_h = height - top - bottom;
    let span = if max > min { max - min } else { 1.0 };
    let mut out = String::new();
    open(&mut out, height, label);
    axis(&mut out, left, top, plot_w, plot_h, span, |v| tick(v + min));
    let n = labels.len().max(1);
    let x_of = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let chars = ((plot_w / n as f64 / 7.0) as usize).max(2);
    for (i, name) in labels.iter().enumerate() {
        text(
            &mut out,
            x_of(i),
            top + plot_h + 16.0,
            "middle",
            11.0,
            &clip(name, chars),
        );
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let dash = if k == 0 {
            ""
        } else {
            " stroke-dasharray=\"6 4\""
        };
        let y_of = |v: f64| top + plot_h - ((v - min) / span).clamp(0.0, 1.0) * plot_h;
        // The legend.
        let lx = left + 220.0 * k as f64;
        let _ = writeln!(
            out,
            "<line x1=\"{lx}\" y1=\"12\" x2=\"{:.1}\" y2=\"12\" stroke=\"{INK}\" stroke-width=\"2\"{dash}/>",
            lx + 28.0
        );
        marker(&mut out, k, lx + 14.0, 12.0);
        text(&mut out, lx + 34.0, 16.0, "start", 12.0, name);
        // The line, broken where a value is missing.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let flush = |out: &mut String, run: &mut Vec<(f64, f64)>| {
            if run.len() > 1 {
                let points: Vec<String> =
                    run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"2\"{dash}/>",
                    points.join(" ")
                );
            }
            run.clear();
        };
        for (i, value) in values.iter().enumerate() {
            match value {
                Some(v) => run.push((x_of(i), y_of(*v))),
                None => flush(&mut out, &mut run),
            }
        }
        flush(&mut out, &mut run);
        for (i, value) in values.iter().enumerate() {
            if let Some(v) = value {
                marker(&mut out, k, x_of(i), y_of(*v));
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The marker of series `k` at a point: a filled circle, else an open square.
fn marker(out: &mut String, k: usize, x: f64, y: f64) {
    if k == 0 {
        let _ = writeln!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{INK}\"/>"
        );
    } else {
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"#fff\" stroke=\"{INK}\" stroke-width=\"2\"/>",
            x - 4.0,
            y - 4.0
        );
    }
}

/// One bar split into `parts` (name, count), darkest first, with a legend of counts below.
pub(super) fn stacked(label: &str, parts: &[(String, u32)]) -> String {
    let total: u32 = parts.iter().map(|(_, n)| n).sum();
    let rows = parts.len().div_ceil(3);
    let height = 60.0 + 22.0 * rows as f64;
    let mut out = String::new();
    open(&mut out, height, label);
    let (left, width) = (10.0, WIDTH - 20.0);
    let mut x = left;
    for (i, (_, n)) in parts.iter().enumerate() {
        if total == 0 || *n == 0 {
            continue;
        }
        let w = f64::from(*n) / f64::from(total) * width;
        let _ = writeln!(
            out,
            "<rect x=\"{x:.1}\" y=\"8\" width=\"{w:.1}\" height=\"30\" fill=\"{}\" stroke=\"{INK}\" stroke-width=\"0.5\"/>",
            shade(i)
        );
        x += w;
    }
    if total == 0 {
        let _ = writeln!(
            out,
            "<rect x=\"{left}\" y=\"8\" width=\"{width}\" height=\"30\" fill=\"#fff\" stroke=\"{INK}\" stroke-width=\"0.5\"/>"
        );
    }
    for (i, (name, n)) in parts.iter().enumerate() {
        let lx = left + 210.0 * (i % 3) as f64;
        let ly = 52.0 + 22.0 * (i / 3) as f64;
        let _ = writeln!(
            out,
            "<rect x=\"{lx}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\" stroke=\"{INK}\" stroke-width=\"0.5\"/>",
            ly - 10.0,
            shade(i)
        );
        text(
            &mut out,
            lx + 18.0,
            ly,
            "start",
            12.0,
            &format!("{name}: {n}"),
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The fill of part `i` of a stacked bar: the shades, then white.
fn shade(i: usize) -> &'static str {
    SHADES.get(i).copied().unwrap_or("#fff")
}

/// A square grid of `names` against themselves, each cell shaded by `count(row, column)`
/// against the largest count, with the count written in it.
pub(super) fn heatmap(
    label: &str,
    names: &[String],
    count: impl Fn(usize, usize) -> u32,
) -> String {
    let n = names.len().max(1);
    let (left, top) = (130.0, 110.0);
    let cell = ((WIDTH - left - 10.0) / n as f64).clamp(6.0, 32.0);
    let height = top + cell * n as f64 + 10.0;
    let max = (0..names.len())
        .flat_map(|i| (0..names.len()).map(move |j| (i, j)))
        .map(|(i, j)| count(i, j))
        .max()
        .unwrap_or(0)
        .max(1);
    let size = (cell * 0.45).clamp(6.0, 12.0);
    let mut out = String::new();
    open(&mut out, height, label);
    for (i, name) in names.iter().enumerate() {
        let y = top + cell * i as f64;
        text(
            &mut out,
            left - 6.0,
            y + cell / 2.0 + size / 3.0,
            "end",
            size,
            &clip(name, 18),
        );
        let x = left + cell * i as f64 + cell / 2.0;
        let _ = writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"start\" font-size=\"{size}\" fill=\"{INK}\" transform=\"rotate(-50 {x:.1} {:.1})\">{}</text>",
            top - 6.0,
            top - 6.0,
            escape(&clip(name, 18))
        );
    }
    for i in 0..names.len() {
        for j in 0..names.len() {
            let (x, y) = (left + cell * j as f64, top + cell * i as f64);
            let c = count(i, j);
            // From white (never) to near black (the most), in even greys.
            let level = 255 - (f64::from(c) / f64::from(max) * 230.0) as u8;
            let fill = if i == j {
                "#eee".to_string()
            } else {
                format!("#{level:02x}{level:02x}{level:02x}")
            };
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" fill=\"{fill}\" stroke=\"#bbb\" stroke-width=\"0.5\"/>"
            );
            if c > 0 && cell >= 14.0 {
                let ink = if level < 140 { "#fff" } else { INK };
                let _ = writeln!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"{size}\" fill=\"{ink}\">{c}</text>",
                    x + cell / 2.0,
                    y + cell / 2.0 + size / 3.0
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_is_a_named_image_with_its_text_escaped() {
        let name = "<script>\"Ada\"</script>".to_string();
        let charts = [
            columns("a <b>", &[(name.clone(), 2.0, "2".into())], 2.0),
            paired_bars("a <b>", ("x", "y"), &[(name.clone(), 1.0, 2.0)], |v| {
                format!("{v}")
            }),
            lines(
                "a <b>",
                std::slice::from_ref(&name),
                &[(name.clone(), vec![Some(1.0)])],
                (0.0, 1.0),
                |v| format!("{v}"),
            ),
            stacked("a <b>", &[(name.clone(), 1)]),
            heatmap("a <b>", &[name.clone(), "Ben".into()], |_, _| 1),
        ];
        for svg in charts {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(
                svg.contains("role=\"img\" aria-label=\"a &lt;b&gt;\""),
                "{svg}"
            );
            assert!(!svg.contains("<script"), "{svg}");
            assert!(!svg.contains("<b>"), "{svg}");
        }
    }

    #[test]
    fn long_labels_are_clipped_with_an_ellipsis() {
        assert_eq!(clip("Alexandra", 5), "Alex…");
        assert_eq!(clip("Ada", 5), "Ada");
    }
}
