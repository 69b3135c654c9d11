//! Precision–recall curves as a PNG, drawn with plotters.
//!
//! plotters' bitmap backend draws text with a font registered at run time
//! (the `ab_glyph` feature avoids a fontconfig dependency); we look for a
//! common system font. Without one the curves are drawn unlabelled rather
//! than not at all.

use std::path::Path;

use anyhow::anyhow;
use plotters::prelude::*;

use crate::figures::Figures;

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a system font once; whether one was found.
fn font() -> bool {
    static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FOUND.get_or_init(|| {
        FONTS.iter().any(|path| {
            std::fs::read(path).ok().is_some_and(|bytes| {
                // plotters keeps registered fonts for the process's lifetime.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    })
}

/// Draws one curve per figure; returns whether labels could be drawn.
pub fn pr_curves(path: &Path, title: &str, figures: &[Figures]) -> anyhow::Result<bool> {
    let labelled = font();
    let root = BitMapBackend::new(path, (900, 650)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if labelled {
        builder.caption(title, ("sans-serif", 22)).x_label_area_size(45).y_label_area_size(55);
    }
    let mut chart = builder.build_cartesian_2d(0.0..1.0, 0.0..1.02).map_err(|e| anyhow!("plot: {e}"))?;
    let mut mesh = chart.configure_mesh();
    if labelled {
        mesh.x_desc("recall").y_desc("precision");
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(|e| anyhow!("plot: {e}"))?;
    for (i, f) in figures.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let (scores, labels): (Vec<f64>, Vec<bool>) = f.scored.iter().copied().unzip();
        let curve = moderation_core::evaluation::pr_curve(&scores, &labels);
        let mut points = vec![(0.0, curve.first().map_or(1.0, |p| p.1))];
        points.extend(curve.iter().map(|&(r, p, _)| (r, p)));
        let series =
            chart.draw_series(LineSeries::new(points, color.stroke_width(2))).map_err(|e| anyhow!("plot: {e}"))?;
        if labelled {
            let label = format!("{} {} (AP {:.3})", f.set, f.question, f.pr_auc);
            series
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
    }
    if labelled {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    root.present().map_err(|e| anyhow!("plot: {e}"))?;
    Ok(labelled)
}
