//! The 2-D heat equation, explicit 5-point scheme, on a `"bb"` distribution
//! with ghost cells: the whole time loop runs in one kernel call, each step
//! one `apply_stencil` pass between two pieces that swap (no allocation per
//! step). Checked against a serial ndarray solution, and the final field
//! drawn as an SVG heat map.
//!
//!     cargo run --example heat [out.svg [rows cols steps]]
//!     mpirun -n 5 target/debug/examples/heat   (built with --features mpi)

use distarray::local;
use distarray::prelude::*;
use ndarray::Array2;
use std::fmt::Write as _;

/// The explicit scheme is stable for alpha <= 1/4.
const ALPHA: f64 = 0.24;
/// The fixed temperature of the top edge; the other edges stay at 0.
const HOT: f64 = 100.0;

/// `steps` explicit heat steps in one call: each exchanges the ghost cells
/// and writes the update into `tmp`, which then becomes `u`; the cells on
/// the edges of the plate keep their values (the fixed boundary).
#[local(undo = false)]
fn heat_steps(u: &mut LocalArray<f64>, tmp: &mut LocalArray<f64>, steps: usize, alpha: f64, engine: &EngineCtx) {
    for _ in 0..steps {
        u.apply_stencil(tmp, 1, engine.comm(), |n| {
            n.center() + alpha * (n[[-1, 0]] + n[[1, 0]] + n[[0, -1]] + n[[0, 1]] - 4.0 * n.center())
        })
        .expect("a heat step");
        std::mem::swap(u, tmp);
    }
}

/// The same steps on the whole plate, serially.
fn heat_serial(u0: &Array2<f64>, steps: usize, alpha: f64) -> Array2<f64> {
    let (n, m) = u0.dim();
    let mut u = u0.clone();
    let mut next = u.clone();
    for _ in 0..steps {
        for i in 1..n - 1 {
            for j in 1..m - 1 {
                let lap = u[[i - 1, j]] + u[[i + 1, j]] + u[[i, j - 1]] + u[[i, j + 1]] - 4.0 * u[[i, j]];
                next[[i, j]] = u[[i, j]] + alpha * lap;
            }
        }
        std::mem::swap(&mut u, &mut next);
    }
    u
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().cloned().unwrap_or_else(|| "target/heat.svg".to_string());
    let num = |k: usize, default: usize| args.get(k).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (rows, cols, steps) = (num(1, 48), num(2, 64), num(3, 300));

    let ctx = Context::new()?;
    let d = Distribution::builder(&ctx, &[rows, cols]).dist("bb").halo(&[1, 1]).periodic(&[false, false]).build()?;
    let u0 = Array2::from_shape_fn((rows, cols), |(i, _)| if i == 0 { HOT } else { 0.0 });
    let mut u = ctx.fromarray(&u0, Some(&d))?;
    // The second piece of each engine; its boundary is written on the first step.
    let mut tmp = ctx.zeros::<f64>(&d)?;
    let start = std::time::Instant::now();
    heat_steps(&mut u, &mut tmp, steps, ALPHA)?;
    let secs = start.elapsed().as_secs_f64();

    let got = u.toarray()?.into_dimensionality::<ndarray::Ix2>().expect("a 2-D array");
    let want = heat_serial(&u0, steps, ALPHA);
    let diff = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
    println!(
        "{rows}x{cols} plate, {steps} steps on {} {} engines (grid {:?}) in {:.1} ms; max |distarray - serial| = {diff:.2e}",
        ctx.num_targets(),
        ctx.backend_name(),
        d.grid_shape(),
        secs * 1e3
    );
    assert!(diff < 1e-10, "the distributed solution differs from the serial one by {diff}");

    if let Some(dir) = std::path::Path::new(&path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    std::fs::write(
        &path,
        heat_map_svg(&got, &format!("{rows}x{cols} plate after {steps} steps, grid {:?}", d.grid_shape())),
    )
    .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    println!("heat map written to {path}");
    Ok(())
}

/// At most this many cells across the picture: larger grids are averaged
/// over blocks, so the file stays small.
const MAX_CELLS: usize = 128;

/// An SVG heat map of `field`: one rect per cell (or per block of cells),
/// coloured from dark blue (the minimum) through red to yellow (the
/// maximum), with a colour bar.
fn heat_map_svg(field: &Array2<f64>, title: &str) -> String {
    let (n, m) = field.dim();
    let step = n.max(m).div_ceil(MAX_CELLS).max(1);
    let (rows, cols) = (n.div_ceil(step), m.div_ceil(step));
    let cell = (640 / rows.max(cols)).clamp(2, 24);
    let (lo, hi) = field.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
    let (margin, width, height) = (24, cols * cell + 120, rows * cell + 48);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let _ = writeln!(svg, r#"<text x="{margin}" y="16">{title}</text>"#);
    for i in 0..rows {
        for j in 0..cols {
            let block = field.slice(ndarray::s![i * step..((i + 1) * step).min(n), j * step..((j + 1) * step).min(m)]);
            let mean = block.mean().unwrap_or(0.0);
            let _ = writeln!(
                svg,
                r#"<rect x="{}" y="{}" width="{cell}" height="{cell}" fill="{}"/>"#,
                margin + j * cell,
                margin + i * cell,
                colour(scale(mean))
            );
        }
    }
    // The colour bar: 20 steps from the maximum (top) to the minimum.
    let (x, bar) = (margin + cols * cell + 16, rows * cell);
    for k in 0..20 {
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="{}" width="16" height="{}" fill="{}"/>"#,
            margin + k * bar / 20,
            bar / 20 + 1,
            colour(1.0 - k as f64 / 19.0)
        );
    }
    let _ = writeln!(svg, r#"<text x="{}" y="{}">{hi:.1}</text>"#, x + 20, margin + 10);
    let _ = writeln!(svg, r#"<text x="{}" y="{}">{lo:.1}</text>"#, x + 20, margin + bar);
    svg.push_str("</svg>\n");
    svg
}

/// A colour for `t` in [0, 1]: linear between five stops (a black-body scale).
fn colour(t: f64) -> String {
    const STOPS: [(f64, f64, f64); 5] =
        [(0.0, 0.0, 0.3), (0.3, 0.0, 0.6), (0.85, 0.1, 0.25), (1.0, 0.55, 0.0), (1.0, 1.0, 0.6)];
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let mix = |p: f64, q: f64| ((p + f * (q - p)) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}
