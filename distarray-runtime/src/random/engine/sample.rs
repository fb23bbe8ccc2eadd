//! The engine side of sampling any distribution: one untyped kernel that
//! finds the entry registered for the call's (sampler, element type) pair,
//! and that entry, which fills the piece with `sampler(element_rng(k))`.
//!
//! A generic function cannot register a kernel, so each pair is registered
//! on its own (`register_sampler!`, or `preregister!` below for the `rand`
//! and `rand_distr` distributions), keyed by the `std::any::type_name`s of
//! the sampler and the element type: constants of the binary, the same on
//! every MPI rank.

use std::any::type_name;
use std::collections::HashMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::element::{ElementRng, RandomStream};
use super::linear;
use crate::core::element::Element;
use crate::core::error::{err, Result};
use crate::engine::kernel::{
    output_from_global_index, register_untyped, KernelFn, KernelInputs, KernelOutput, UntypedKernel,
};

/// The kernel of every sampling call; its arguments name the pair.
pub(crate) const SAMPLE: UntypedKernel = UntypedKernel::new("distarray::random::sample");

register_untyped!(SAMPLE, run_sample);

/// A sampler as the engines see it: something that draws a `T` from an
/// element's rng. Every `rand` distribution is one (the client part
/// implements it for them all).
#[doc(hidden)]
pub trait Draw<T> {
    /// One value from `rng`.
    fn draw(&self, rng: &mut ElementRng) -> T;
}

/// One registered (sampler, element type) pair.
#[doc(hidden)]
pub struct SamplerEntry {
    /// `type_name` of the sampler.
    pub sampler: fn() -> &'static str,
    /// `type_name` of the element type.
    pub element: fn() -> &'static str,
    /// `run_sampler::<sampler, element>`.
    pub run: KernelFn,
}

inventory::collect!(SamplerEntry);

/// The arguments of a sampling call. The two names come first, so the
/// dispatcher reads them without knowing the sampler's type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SampleParams<D> {
    pub sampler_type: String,
    pub element_type: String,
    pub stream: RandomStream,
    /// Row-major strides of the global shape, turning an index into `k`.
    pub strides: Vec<u64>,
    pub sampler: D,
}

/// The two names at the head of [`SampleParams`].
#[derive(Deserialize)]
struct Names {
    sampler_type: String,
    element_type: String,
}

/// Every registered pair by names. Registering a pair twice (a user
/// registering a pre-registered one, two crates the same) is harmless: both
/// entries are the same function of the same types.
fn samplers() -> &'static HashMap<(&'static str, &'static str), KernelFn> {
    static SAMPLERS: OnceLock<HashMap<(&'static str, &'static str), KernelFn>> = OnceLock::new();
    SAMPLERS.get_or_init(|| {
        inventory::iter::<SamplerEntry>.into_iter().map(|e| (((e.sampler)(), (e.element)()), e.run)).collect()
    })
}

/// The entry of the pair named `sampler` and `element`, if registered.
pub(crate) fn find_sampler(sampler: &str, element: &str) -> Option<KernelFn> {
    // Covariance lets the `'static` keys be looked up with borrowed names.
    let table: &HashMap<(&str, &str), KernelFn> = samplers();
    table.get(&(sampler, element)).copied()
}

/// The message of an unregistered pair, on the client and the engines.
pub(crate) fn unregistered(sampler: &str, element: &str) -> String {
    format!(
        "no sampler of `{element}` from `{sampler}` is registered: add \
         `distarray::register_sampler!({sampler} => {element});` at module level"
    )
}

fn run_sample(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let names: Names = inputs.split().0.decode()?;
    let run = find_sampler(&names.sampler_type, &names.element_type)
        .ok_or_else(|| err!(KernelNotFound, "{}", unregistered(&names.sampler_type, &names.element_type)))?;
    run(inputs)
}

/// Fills this engine's piece: element `k` is `sampler.draw(stream.element(k))`.
#[doc(hidden)]
pub fn run_sampler<D: Draw<T> + DeserializeOwned, T: Element>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let SampleParams { stream, strides, sampler, .. }: SampleParams<D> = inputs.split().0.decode()?;
    // One block per element, computed alone: prefetching four consecutive
    // elements' first blocks together (philox4x32_10_x4, as `GroupCache`
    // does for the fixed samplers) crashed LLVM's register coalescer in
    // release builds (rustc 1.95).
    output_from_global_index(inputs, |index| sampler.draw(&mut stream.element(linear(index, &strides))))
}

/// Registers `run_sampler::<D, T>` for each listed pair.
macro_rules! preregister {
    ($($d:ty => $($t:ty)|+;)*) => {$($(
        ::inventory::submit! {
            SamplerEntry { sampler: type_name::<$d>, element: type_name::<$t>, run: run_sampler::<$d, $t> }
        }
    )+)*};
}

/// Every `rand_distr` distribution of one float type that has serde.
macro_rules! preregister_real {
    ($($f:ty),*) => {$(
        preregister! {
            rand_distr::StandardNormal => $f;
            rand_distr::Normal<$f> => $f;
            rand_distr::LogNormal<$f> => $f;
            rand_distr::Exp1 => $f;
            rand_distr::Exp<$f> => $f;
            rand_distr::Gamma<$f> => $f;
            rand_distr::ChiSquared<$f> => $f;
            rand_distr::FisherF<$f> => $f;
            rand_distr::StudentT<$f> => $f;
            rand_distr::Beta<$f> => $f;
            rand_distr::Cauchy<$f> => $f;
            rand_distr::Weibull<$f> => $f;
            rand_distr::Pareto<$f> => $f;
            rand_distr::Pert<$f> => $f;
            rand_distr::Triangular<$f> => $f;
            rand_distr::Gumbel<$f> => $f;
            rand_distr::Frechet<$f> => $f;
            rand_distr::SkewNormal<$f> => $f;
            rand_distr::InverseGaussian<$f> => $f;
            rand_distr::NormalInverseGaussian<$f> => $f;
            rand_distr::Poisson<$f> => $f;
            rand::distr::Uniform<$f> => $f;
            rand::distr::Open01 => $f;
            rand::distr::OpenClosed01 => $f;
        }
    )*};
}

preregister! {
    rand::distr::StandardUniform => bool | i8 | i16 | i32 | i64 | u8 | u16 | u32 | u64 | f32 | f64;
    rand::distr::Uniform<i8> => i8;
    rand::distr::Uniform<i16> => i16;
    rand::distr::Uniform<i32> => i32;
    rand::distr::Uniform<i64> => i64;
    rand::distr::Uniform<u8> => u8;
    rand::distr::Uniform<u16> => u16;
    rand::distr::Uniform<u32> => u32;
    rand::distr::Uniform<u64> => u64;
    rand::distr::Bernoulli => bool;
    rand_distr::Binomial => u64;
    rand_distr::Geometric => u64;
    rand_distr::StandardGeometric => u64;
    rand_distr::Hypergeometric => u64;
}
preregister_real!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_pairs_are_registered() {
        for (sampler, element) in [
            (type_name::<rand_distr::Gamma<f64>>(), "f64"),
            (type_name::<rand_distr::Gamma<f32>>(), "f32"),
            (type_name::<rand::distr::StandardUniform>(), "bool"),
            (type_name::<rand_distr::Hypergeometric>(), "u64"),
        ] {
            assert!(find_sampler(sampler, element).is_some(), "{sampler} => {element}");
        }
        assert!(find_sampler(type_name::<rand_distr::Gamma<f64>>(), "f32").is_none());
        assert!(unregistered("a::B", "f64").contains("distarray::register_sampler!(a::B => f64)"));
    }
}
