//! One SVG chart per benchmark, drawn by `plotters`: a horizontal bar for each ratio to the
//! same-run baseline each row printed (`row label — ratio name`), with the baseline itself as
//! a line at 1. Bars past it are slower or larger than the baseline, unless the ratio is one
//! where more is better (the table beside it says which).

use plotters::prelude::*;

use crate::results::Row;

/// The bars a benchmark's rows give: (label, ratio).
pub fn bars(rows: &[Row]) -> Vec<(String, f64)> {
    rows.iter()
        .flat_map(|row| {
            row.ratios()
                .filter(|(_, v)| v.is_finite())
                .map(move |(name, v)| (format!("{} — {name}", row.label), v))
        })
        .collect()
}

/// The chart as SVG text, or `None` when the benchmark printed no ratio.
pub fn svg(title: &str, rows: &[Row]) -> Result<Option<String>, String> {
    let bars = bars(rows);
    if bars.is_empty() {
        return Ok(None);
    }
    let longest = bars
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(10);
    let label_px = (longest as u32 * 8).clamp(140, 560);
    let height = (110 + 30 * bars.len() as u32).max(180);
    let top = bars.iter().map(|(_, v)| *v).fold(1.0_f64, f64::max) * 1.15;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (label_px + 520, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let n = bars.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(label_px)
            .build_cartesian_2d(0.0..top, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("ratio to the same-run baseline (1 = baseline)")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 13))
            .y_labels(n)
            .y_label_formatter(&|seg| match seg {
                SegmentValue::CenterOf(i) => {
                    bars.get(*i).map(|(l, _)| l.clone()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                let color = if *v <= 1.0 {
                    RGBColor(46, 125, 50)
                } else {
                    RGBColor(198, 40, 40)
                };
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        (*v, SegmentValue::Exact(i + 1)),
                    ],
                    color.mix(0.8).filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                bar
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                Text::new(
                    format!("{v:.3}"),
                    (*v, SegmentValue::CenterOf(i)),
                    ("sans-serif", 13),
                )
            }))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                [(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(n))],
                BLACK.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::parse;

    #[test]
    fn every_ratio_is_a_labelled_bar_and_the_svg_names_them() {
        let rows = parse(
            "{\"workload\":\"typing\",\"ms_ratio\":0.25,\"bytes_ratio\":0.1}\n\
             {\"workload\":\"table-50k\",\"ms_ratio\":1.5}\n",
        );
        let bars = bars(&rows);
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[2], ("table-50k — ms_ratio".to_owned(), 1.5));
        let svg = svg("capture", &rows).unwrap().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60.min(svg.len())]);
        for label in [
            "typing — ms_ratio",
            "typing — bytes_ratio",
            "table-50k — ms_ratio",
            "1.500",
        ] {
            assert!(svg.contains(label), "the chart lacks {label:?}");
        }
        assert!(
            svg.matches("<rect").count() >= 4,
            "three bars and the background"
        );
    }

    #[test]
    fn a_benchmark_without_ratios_has_no_chart() {
        assert_eq!(svg("none", &parse("{\"p50_ms\":1}")).unwrap(), None);
    }
}
