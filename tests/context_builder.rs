//! `Context::builder()`: the engine count set in code.
//!
//! The thread engines are one per process, started by its first context, so
//! every test here asks for 3 engines first: whichever runs first starts 3,
//! and the others find them. What needs the engines not yet started (an
//! invalid first count, `DISTARRAY_ENGINES` as the default) runs in a process
//! of its own, an ignored test of this binary.

use std::process::Command;

use distarray::context::{Context as ModuleContext, ContextBuilder, KEY_PREFIX};
use distarray::prelude::*;

const ENGINES: usize = 3;

/// The first context of the process, or a later one: 3 engines either way.
fn three() -> Context {
    Context::builder().engines(ENGINES).build().expect("3 thread engines")
}

#[test]
fn the_first_context_decides_the_engine_count() -> Result<()> {
    let ctx = three();
    assert_eq!(ctx.backend_name(), "threads");
    assert_eq!(ctx.num_engines(), ENGINES);
    assert_eq!(ctx.targets(), &[0, 1, 2]);
    // Arrays use all 3.
    let d = Distribution::from_shape(&ctx, &[9])?;
    assert_eq!(d.targets(), &[0, 1, 2]);
    let a = ctx.ones::<f64>(&d)?;
    assert_eq!(a.toarray()?.sum(), 9.0);
    Ok(())
}

#[test]
fn new_and_with_targets_are_the_builder_without_a_count() -> Result<()> {
    let _first = three();
    let all = Context::new()?;
    assert_eq!(all.num_engines(), ENGINES);
    assert_eq!(all.targets(), Context::builder().build()?.targets());
    let some = Context::with_targets(&[2, 0])?;
    let built = Context::builder().targets(&[2, 0]).build()?;
    assert_eq!(some.targets(), built.targets());
    assert_eq!(built.targets(), &[2, 0]);
    Ok(())
}

#[test]
fn the_same_count_with_targets_builds_a_subset() -> Result<()> {
    let _first = three();
    let pair = Context::builder().engines(ENGINES).targets(&[1, 2]).build()?;
    assert_eq!(pair.num_engines(), ENGINES);
    assert_eq!(pair.targets(), &[1, 2]);
    let z = pair.zeros::<i32>(&Distribution::from_shape(&pair, &[4, 4])?)?;
    assert_eq!(z.targets(), &[1, 2]);
    assert_eq!(z.toarray()?.sum(), 0);
    Ok(())
}

#[test]
fn another_count_than_the_running_one_is_an_error_naming_both() -> Result<()> {
    let first = three();
    let a = first.fromarray(&ndarray::arr1(&[1.0, 2.0, 3.0]), None)?;
    for asked in [1, 2, 4, 64, 0] {
        let e = Context::builder().engines(asked).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        let message = e.to_string();
        assert!(message.contains(&format!("engines({asked}) asks for {asked} engines")), "{message}");
        assert!(message.contains(&format!("already run with {ENGINES}")), "{message}");
        // With targets too: the count is checked first.
        let e = Context::builder().engines(asked).targets(&[0]).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    // Nothing changed: the engines, the first context and its array.
    assert_eq!(Context::new()?.num_engines(), ENGINES);
    assert_eq!(a.toarray()?, ndarray::arr1(&[1.0, 2.0, 3.0]).into_dyn());
    Ok(())
}

#[test]
fn targets_outside_the_engines_are_invalid_targets() {
    let _first = three();
    for (targets, words) in [
        (&[3][..], "target 3 is not one of the available engines [0, 1, 2]"),
        (&[0, 0][..], "target 0 is repeated in [0, 0]"),
        (&[][..], "the target list is empty"),
    ] {
        let e = Context::builder().engines(ENGINES).targets(targets).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTarget, "{e}");
        assert!(e.to_string().contains(words), "{e}");
    }
}

#[test]
fn the_context_module_names_the_same_items() {
    let _first = three();
    let builder: ContextBuilder = ModuleContext::builder().engines(ENGINES);
    let ctx: Context = builder.clone().build().unwrap();
    assert!(ctx.key_prefix().starts_with(KEY_PREFIX));
    assert!(format!("{builder:?}").contains("engines: Some(3)"));
}

/// What building a context on an engine gives.
#[local]
fn build_inside(a: &LocalArray<f64>) -> Option<ErrorKind> {
    let _ = a;
    Context::builder().engines(ENGINES).build().err().map(|e| e.kind())
}

#[test]
fn a_builder_inside_a_kernel_is_a_nested_call() -> Result<()> {
    let ctx = three();
    let a = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[6])?)?;
    assert_eq!(build_inside(&a)?, vec![Some(ErrorKind::NestedCall); ENGINES]);
    Ok(())
}

/// Runs the ignored test `name` of this binary in a process of its own with
/// `env` (and `DISTARRAY_ENGINES` unset unless `env` sets it); returns its
/// exit status and stderr.
fn run_alone(name: &str, env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args(["--exact", name, "--ignored", "--nocapture", "--test-threads", "1"]);
    command.env_remove("DISTARRAY_ENGINES").env_remove("DISTARRAY_BACKEND").env(ALONE, "1");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() || stdout.contains("1 passed"), "{name} did not run:\n{stdout}");
    (out.status, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Set for the processes of [`run_alone`]: the ignored tests do nothing
/// without it (run with `--include-ignored`, they would find the engines of
/// the other tests).
const ALONE: &str = "DISTARRAY_TEST_ALONE";

fn alone() -> bool {
    std::env::var_os(ALONE).is_some()
}

#[test]
#[ignore = "run in a process of its own by `an_invalid_first_count_starts_nothing`"]
fn alone_invalid_first_count() {
    if !alone() {
        return;
    }
    for asked in [0, 4097] {
        let e = Context::builder().engines(asked).build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(
            e.to_string().contains(&format!("engines({asked}): {asked} is not an engine count between 1 and 4096")),
            "{e}"
        );
    }
    // The engines did not start with the bad count: the next context starts them.
    let ctx = Context::builder().engines(2).build().unwrap();
    assert_eq!(ctx.num_engines(), 2);
}

#[test]
fn an_invalid_first_count_starts_nothing() {
    let (status, stderr) = run_alone("alone_invalid_first_count", &[]);
    assert!(status.success(), "{stderr}");
}

#[test]
#[ignore = "run in a process of its own by `distarray_engines_stays_the_default`"]
fn alone_engines_from_the_environment() {
    if !alone() {
        return;
    }
    let expected: usize = std::env::var("EXPECTED_ENGINES").unwrap().parse().unwrap();
    let ctx = match std::env::var("ASK_ENGINES") {
        Ok(n) => Context::builder().engines(n.parse().unwrap()).build().unwrap(),
        Err(_) => Context::builder().build().unwrap(),
    };
    assert_eq!(ctx.num_engines(), expected);
    assert_eq!(Context::new().unwrap().num_engines(), expected);
}

#[test]
fn distarray_engines_stays_the_default() {
    let cases: [&[(&str, &str)]; 4] = [
        // No count anywhere: 4.
        &[("EXPECTED_ENGINES", "4")],
        // DISTARRAY_ENGINES when the builder gives none.
        &[("DISTARRAY_ENGINES", "5"), ("EXPECTED_ENGINES", "5")],
        // The builder's count over DISTARRAY_ENGINES.
        &[("DISTARRAY_ENGINES", "5"), ("ASK_ENGINES", "2"), ("EXPECTED_ENGINES", "2")],
        // Even over a DISTARRAY_ENGINES that is not a count.
        &[("DISTARRAY_ENGINES", "many"), ("ASK_ENGINES", "3"), ("EXPECTED_ENGINES", "3")],
    ];
    for env in cases {
        let (status, stderr) = run_alone("alone_engines_from_the_environment", env);
        assert!(status.success(), "{env:?}: {stderr}");
    }
}
