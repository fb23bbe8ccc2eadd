//! numpy's ufuncs over distributed arrays: the element types each accepts
//! ([`dtypes`]), their per-element semantics ([`scalar`], with numpy's C99
//! complex functions in [`complex_math`]), the engine kernels and client
//! calls that run them ([`ufunc`]), the public functions ([`functions`]) and
//! the `std::ops` operators ([`operators`]).

mod complex_math;
mod dtypes;
pub mod functions;
mod operand;
mod operators;
mod real_math;
mod scalar;
mod ufunc;

pub use self::dtypes::{Bitwise, Number, Real, Ufunc};
pub use self::operand::{Operand, Operands};
