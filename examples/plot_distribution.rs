//! Draws which engine owns each element of a 2-D block-cyclic array and
//! writes it to `docs/block_cyclic_2d.svg` (or the path given as argument).

use distarray::prelude::*;

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let d = Distribution::builder(&ctx, &[12, 16])
        .dists(&[Dist::BlockCyclic { block_size: 2 }, Dist::BlockCyclic { block_size: 3 }])
        .build()?;
    let a = ctx.zeros::<f64>(&d)?;
    let path = std::env::args().nth(1).unwrap_or_else(|| "docs/block_cyclic_2d.svg".to_string());
    a.plot_distribution(&path)?;
    println!("{d}: owner matrix\n{}\nwritten to {path}", a.get_dist_matrix()?);
    Ok(())
}
