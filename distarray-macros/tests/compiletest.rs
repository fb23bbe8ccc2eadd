//! The macros' pass cases (compiled and run) and compile-fail cases.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/ui/**/*.rs");
}
