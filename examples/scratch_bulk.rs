use distarray::local;
use distarray::prelude::*;
use std::time::Instant;

#[local]
fn raw(engine: &EngineCtx, n: usize) -> Vec<f64> { vec![engine.rank() as f64; n] }

#[local]
fn serde_path(engine: &EngineCtx, n: usize) -> (Vec<f64>,) { (vec![engine.rank() as f64; n],) }

#[local]
fn nothing(engine: &EngineCtx, n: usize) -> usize { let v = vec![engine.rank() as f64; n]; std::hint::black_box(&v); v.len() }

#[local]
fn axpy_inplace(a: &mut LocalArray<f64>, x: &LocalArray<f64>, k: f64) { a.zip_mut_with(x, |p, q| *p += k * q); }

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
    let d = Distribution::from_shape(&ctx, &[1 << 24])?;
    let mut a = ctx.ones::<f64>(&d)?;
    let x = ctx.ones::<f64>(&d)?;
    axpy_inplace(&mut a, &x, 1.0)?;
    let reps = 10;
    let t = Instant::now();
    for _ in 0..reps { axpy_inplace(&mut a, &x, 1.0)?; }
    let kernel = t.elapsed().as_secs_f64() / reps as f64;
    let mut pa = a.get_ndarrays()?; let px = x.get_ndarrays()?;
    let t = Instant::now();
    for _ in 0..reps { std::thread::scope(|s| { for (p, q) in pa.iter_mut().zip(&px) { s.spawn(move || p.zip_mut_with(q, |u, v| *u += 1.0 * v)); } }); }
    let direct = t.elapsed().as_secs_f64() / reps as f64;
    println!("in-place axpy 2^24 f64: kernel {:.2} ms, hand loop {:.2} ms, ratio {:.2}", kernel * 1e3, direct * 1e3, kernel / direct);
    Ok(())
}
