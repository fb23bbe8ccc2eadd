//! numpy's ufuncs over distributed arrays: the client calls that check the
//! operands' layouts and run a ufunc ([`ufunc`]), the public functions
//! ([`functions`]), the `std::ops` operators ([`operators`]) and the
//! operands ([`operand`]); the kernels and per-element semantics are the
//! engine side, [`engine`].

pub(crate) mod engine;
pub mod functions;
mod operand;
mod operators;
mod ufunc;

pub use self::engine::dtypes::{Bitwise, Number, Real, Ufunc};
pub use self::operand::{Operand, Operands};
