//! Crate-wide checks that span the features: every internal kernel the
//! client can call is registered on the engines for every element type it
//! is called with.

use std::collections::HashSet;

use crate::core::element::DType;
use crate::engine::kernel::{find_kernel, registered_keys, InternalKernel, UntypedKernel};

/// Every internal kernel registered per element type, by its constant.
fn internal_kernels() -> Vec<&'static InternalKernel> {
    use crate::{halo, index, io, ops, random, redistribute, reduce};
    #[allow(unused_mut)]
    let mut kernels = vec![
        &ops::engine::UNARY_SAME,
        &ops::engine::UNARY_PROMOTED,
        &ops::engine::UNARY_FLOAT,
        &ops::engine::UNARY_MAGNITUDE,
        &ops::engine::BINARY_SAME,
        &ops::engine::BINARY_PROMOTED,
        &ops::engine::BINARY_FLOAT,
        &ops::engine::BINARY_QUOTIENT,
        &ops::engine::COMPARE,
        &reduce::engine::REDUCE,
        &redistribute::engine::EXCHANGE,
        &halo::engine::EXCHANGE_HALOS,
        &index::engine::GET,
        &index::engine::SET,
        &index::engine::SLICE,
        &index::engine::ASSIGN,
        &io::engine::SAVE_NPY,
        &io::engine::LOAD_NPY,
        &io::engine::SAVE_DNPY,
        &io::engine::LOAD_DNPY,
        &random::engine::typed::FLOATS,
        &random::engine::typed::INTEGERS,
        &random::engine::permutation::PERMUTE,
        &random::engine::permutation::SHUFFLE,
    ];
    #[cfg(feature = "hdf5")]
    kernels.extend([&io::hdf5::engine::SAVE_HDF5, &io::hdf5::engine::LOAD_HDF5]);
    kernels
}

/// Every internal kernel of one entry, by its constant.
const UNTYPED_KERNELS: [&UntypedKernel; 3] = [
    &crate::random::engine::typed::BOOLS,
    &crate::random::engine::permutation::PERMUTED_RANGE,
    &crate::random::engine::sample::SAMPLE,
];

/// A kernel the client calls for some element type has an entry for it
/// on the engines: a registration that missed a type fails here, not in
/// a user's call.
#[test]
fn every_internal_kernel_has_an_entry_for_every_element_type() {
    for kernel in internal_kernels() {
        for dtype in DType::ALL {
            if let Err(e) = find_kernel(kernel.name(), Some(dtype)) {
                panic!("{e}");
            }
        }
        assert!(find_kernel(kernel.name(), None).is_err(), "{} has an untyped entry", kernel.name());
    }
    for kernel in UNTYPED_KERNELS {
        if let Err(e) = find_kernel(kernel.name(), None) {
            panic!("{e}");
        }
    }
}

/// The lists above hold every internal kernel of the program (names
/// without a definition site): a kernel added without being listed
/// fails here.
#[test]
fn every_internal_kernel_is_listed() {
    let typed: HashSet<&str> = internal_kernels().iter().map(|k| k.name()).collect();
    let untyped: HashSet<&str> = UNTYPED_KERNELS.iter().map(|k| k.name()).collect();
    for (name, dtype) in registered_keys().filter(|(name, _)| !name.contains('@')) {
        let listed = if dtype.is_some() { &typed } else { &untyped };
        assert!(listed.contains(name), "internal kernel `{name}` ({dtype:?}) is not listed here");
    }
}
