use distarray::local;
use distarray::prelude::*;
use std::time::Instant;

#[local]
fn raw(engine: &EngineCtx, n: usize) -> Vec<f64> { vec![engine.rank() as f64; n] }

#[local]
fn serde_path(engine: &EngineCtx, n: usize) -> (Vec<f64>,) { (vec![engine.rank() as f64; n],) }

#[local]
fn nothing(engine: &EngineCtx, n: usize) -> usize { let v = vec![engine.rank() as f64; n]; std::hint::black_box(&v); v.len() }

fn main() -> Result<()> {
    let ctx = Context::new()?;
    let n = 2 << 20; // 16 MiB of f64 per engine
    for _ in 0..3 {
        let t = Instant::now(); nothing(&ctx, n)?; let base = t.elapsed().as_secs_f64();
        let t = Instant::now(); let a = raw(&ctx, n)?; let r = t.elapsed().as_secs_f64();
        let t = Instant::now(); let b = serde_path(&ctx, n)?; let s = t.elapsed().as_secs_f64();
        assert_eq!(a.len(), b.len());
        println!("{}: {} engines x 16 MiB: raw {:.3} s, serde {:.3} s, no transfer {:.3} s", ctx.backend_name(), ctx.num_targets(), r, s, base);
    }
    Ok(())
}
