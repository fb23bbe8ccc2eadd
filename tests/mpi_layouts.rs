//! The layout suite as one program, for `mpirun -n N+1` (run by the test
//! script with 2 and 4 engines). Under a plain `cargo test` it runs on thread
//! engines. Exits non-zero (a failed assertion) on any mismatch.

mod support;

use distarray::prelude::*;

fn main() -> Result<()> {
    let all = Context::new()?;
    let n = all.num_targets();
    // Several contexts at once over different engine subsets: 1, 3 (or fewer) and all.
    let one = Context::with_targets(&[n - 1])?;
    let some: Vec<usize> = (0..n.min(3)).rev().collect();
    let three = Context::with_targets(&some)?;
    let mut layouts = 0;
    for ctx in [&one, &three, &all] {
        layouts += support::check_everything(ctx);
    }
    // Arrays of different contexts coexist and keep their values.
    let a = one.fromarray(&support::index_array(&[5, 5]), None)?;
    let b = all.fromarray(&support::index_array(&[7]), None)?;
    three.cleanup()?;
    assert_eq!(a.toarray()?, support::index_array(&[5, 5]));
    assert_eq!(b.toarray()?, support::index_array(&[7]));
    drop((a, b));
    one.close()?;
    assert_eq!(one.close().unwrap_err().kind(), ErrorKind::ContextClosed);
    // The engine count is the running backend's (mpirun's under MPI): asking
    // for it builds, asking for another is an error naming both.
    let last = Context::builder().engines(n).targets(&[n - 1]).build()?;
    assert_eq!(last.targets(), &[n - 1]);
    let e = Context::builder().engines(n + 1).build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let running = if all.backend_name() == "mpi" { format!("this run has {n}") } else { format!("run with {n}") };
    assert!(e.to_string().contains(&format!("asks for {} engines", n + 1)) && e.to_string().contains(&running), "{e}");
    println!("mpi_layouts: {layouts} layouts checked on the {} backend with {n} engines", all.backend_name());
    Ok(())
}
