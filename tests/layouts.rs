//! The layout suite on thread engines, for contexts of 1, 2, 3 and 4 engines.

mod support;

use distarray::prelude::*;

fn run_on(targets: &[usize]) {
    let ctx = Context::with_targets(targets).expect("context");
    let layouts = support::check_everything(&ctx);
    assert!(layouts > 100, "only {layouts} layouts were checked");
}

#[test]
fn one_engine() {
    run_on(&[2]);
}

#[test]
fn two_engines() {
    run_on(&[3, 1]);
}

#[test]
fn three_engines() {
    run_on(&[0, 1, 2]);
}

#[test]
fn four_engines() {
    run_on(&[0, 1, 2, 3]);
}
