//! Redistribution: moving an array to any other [`Distribution`](crate::Distribution) of the same
//! context as one planned all-to-all exchange between engines.
//!
//! The client only sends both layouts. Every engine of the union of the two
//! target lists computes, from the layouts alone, which of its elements go to
//! which destination rank (sender side) and where the elements it receives go
//! in its new piece (receiver side); then the engines run one all-to-all over
//! a communicator of that union. No element passes through the client.
//!
//! # Memory
//! See [`DistArray::distribute_as`](crate::DistArray::distribute_as) for the bound on the extra memory per
//! engine, and [`ExchangeStats`] for what one exchange measured.

//!
//! The client side is `DistArray`'s methods (`array/impl_redistribute.rs`);
//! the exchange runs in [`engine`].

pub(crate) mod engine;

pub use engine::ExchangeStats;
