//! The kernel suite on thread engines, over all engines and a subset.

#[path = "support/kernels.rs"]
#[allow(dead_code)] // each file uses part of the suite
mod kernels;

use distarray::prelude::*;

#[test]
fn kernels_on_all_engines() -> Result<()> {
    let ctx = Context::new()?;
    kernels::check_kernels(&ctx)?;
    kernels::check_in_place(&ctx)
}

#[test]
fn kernels_on_a_subset() -> Result<()> {
    let ctx = Context::with_targets(&[3, 1, 2])?;
    kernels::check_kernels(&ctx)?;
    kernels::check_in_place(&ctx)
}

#[test]
fn fallible_kernels() -> Result<()> {
    kernels::check_fallible(&Context::new()?)?;
    kernels::check_fallible(&Context::with_targets(&[3, 1, 2])?)
}

#[test]
fn kernel_bodies() -> Result<()> {
    kernels::check_bodies(&Context::new()?)?;
    kernels::check_bodies(&Context::with_targets(&[3, 1, 2])?)
}

#[test]
fn vectorize_with_scalars() -> Result<()> {
    kernels::check_vectorize_scalars(&Context::new()?)?;
    kernels::check_vectorize_scalars(&Context::with_targets(&[3, 1, 2])?)
}

#[test]
fn generic_kernels() -> Result<()> {
    kernels::check_generic_kernels(&Context::new()?)?;
    kernels::check_generic_kernels(&Context::with_targets(&[2, 0])?)
}

#[test]
fn kernels_of_one_name_in_one_module_stay_distinct() -> Result<()> {
    kernels::check_same_name_kernels(&Context::new()?)?;
    kernels::check_same_name_kernels(&Context::with_targets(&[2, 0])?)
}

#[test]
fn a_kernel_key_names_the_kernel_and_its_definition() {
    use distarray::{IndexKernel, Kernel};
    assert!(<kernels::scale as Kernel>::NAME.ends_with("kernels::scale"), "{}", <kernels::scale as Kernel>::NAME);
    for (name, key) in [
        (<kernels::scale as Kernel>::NAME, <kernels::scale as Kernel>::KEY),
        (<kernels::index_value as IndexKernel>::INDEX_NAME, <kernels::index_value as IndexKernel>::INDEX_KEY),
    ] {
        let site = key
            .strip_prefix(name)
            .and_then(|s| s.strip_prefix('@'))
            .unwrap_or_else(|| panic!("{key} should start with {name}@"));
        let parts: Vec<&str> = site.rsplitn(3, ':').collect();
        assert_eq!(parts.len(), 3, "{site}");
        assert_eq!(parts[2], "tests/support/kernels.rs", "{site}");
        assert!(parts[0].parse::<u32>().is_ok() && parts[1].parse::<u32>().is_ok(), "{site}");
    }
}

/// One macro call defining two kernels of one name in one module (each in its
/// own function): both have the definition site of the macro call, so one key.
macro_rules! two_kernels_at_one_site {
    () => {
        fn clash_first(ctx: &Context) -> Result<Vec<i32>> {
            #[local]
            fn clash(engine: &EngineCtx) -> i32 {
                engine.rank() as i32
            }
            clash(ctx)
        }

        fn clash_second(ctx: &Context) -> Result<Vec<i32>> {
            #[local]
            fn clash(engine: &EngineCtx) -> i32 {
                -(engine.rank() as i32)
            }
            clash(ctx)
        }
    };
}

two_kernels_at_one_site!();

#[test]
fn kernels_sharing_a_key_run_neither_definition() -> Result<()> {
    let ctx = Context::new()?;
    for e in [clash_first(&ctx).unwrap_err(), clash_second(&ctx).unwrap_err()] {
        assert_eq!(e.kind(), ErrorKind::KernelConflict, "{e}");
        for needle in ["::clash` is registered 2 times", "tests/kernels.rs:"] {
            assert!(e.message().contains(needle), "{e} should say {needle:?}");
        }
    }
    // The other kernels still run.
    assert_eq!(kernels::whoami(&ctx)?.len(), ctx.num_targets());
    Ok(())
}
