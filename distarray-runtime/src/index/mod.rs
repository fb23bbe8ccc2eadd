//! Element access and slicing. The client side is `DistArray`'s methods
//! (`array/impl_indexing.rs`); the engine side is [`engine`].

pub(crate) mod engine;
