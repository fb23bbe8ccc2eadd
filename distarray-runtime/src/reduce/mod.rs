//! Reductions of distributed arrays: `sum`, `min`, `max`, `mean`, `var`,
//! `std`, over every element (one value) or along axes (a DistArray over
//! [`Distribution::reduce`]).
//!
//! Each engine reduces its own piece; partial results are combined between
//! engines through the communicator (an all-reduce for whole-array results,
//! one all-to-all exchange to the kept ranks for axis results, none when no
//! reduced axis is split between engines), never on the client. Along
//! leading axes rows are folded four at a time in row order (numpy's order,
//! so a sum along an axis no engine splits has numpy's bits). `mean`/`var`/`std` combine partial moments (two passes over
//! cache-sized blocks, or shifted sums for elements folded one at a time along
//! axes; Chan et al. between blocks and pieces, with the mean kept to twice
//! f64's precision), so they stay accurate when the mean is large against the
//! spread, whole or along axes (1e9 + noise in [0, 0.01): relative error of
//! the variance about 1e-15). Infinities are summed apart from the finite
//! elements, so `mean` is numpy's ±inf (NaN with both signs) on any layout.

pub(crate) mod engine;

pub use engine::{OrdElem, SumElem, Widen};
