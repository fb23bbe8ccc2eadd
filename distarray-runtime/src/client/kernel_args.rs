//! What the client functions of kernels accept, as hidden traits whose
//! `#[diagnostic::on_unimplemented]` messages say what to write instead of
//! the bounds of serde or of the generated code.

use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Serialize};

use crate::client::DistArray;
use crate::core::element::Element;
pub use crate::engine::kernel::ScalarCodec;
use crate::engine::local::LocalArray;
use crate::ops::Operand;

/// Whether a type can be sent: `(&&Probe::<T>::new()).probe()` is
/// [`AliasedArray`] for a `&LocalArray` (behind a type alias: the macro saw a
/// scalar), else the codec of a serializable `T`, else [`NotSerializable`]
/// (method resolution tries [`ProbeAlias`], [`ProbeCodec`], [`ProbeFallback`]
/// in this order, as each needs one more dereference). Generated code passes
/// the result to [`not_an_array`] and [`scalar_codec`], each of which the
/// other two answers satisfy: a mistake is one error, at the parameter.
#[doc(hidden)]
pub struct Probe<T>(PhantomData<T>);

impl<T> Clone for Probe<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Probe<T> {}

/// The probe's answer for a `&LocalArray` the macro took for a scalar.
#[doc(hidden)]
pub struct AliasedArray;

/// The probe's answer for a `&LocalArray`.
#[doc(hidden)]
pub trait ProbeAlias {
    /// Not a scalar.
    fn probe(&self) -> AliasedArray;
}

impl<T> ProbeAlias for &Probe<&LocalArray<T>> {
    fn probe(&self) -> AliasedArray {
        AliasedArray
    }
}

impl<T> ProbeAlias for &Probe<&mut LocalArray<T>> {
    fn probe(&self) -> AliasedArray {
        AliasedArray
    }
}

impl<T> Probe<T> {
    /// The probe of `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Probe(PhantomData)
    }
}

/// The probe's answer for a serializable type.
#[doc(hidden)]
pub trait ProbeCodec<T> {
    /// `T`'s codec.
    fn probe(&self) -> ScalarCodec<T>;
}

impl<T: Serialize + DeserializeOwned> ProbeCodec<T> for Probe<T> {
    fn probe(&self) -> ScalarCodec<T> {
        ScalarCodec::serde()
    }
}

/// The probe's answer for a type that is not serializable.
#[doc(hidden)]
pub struct NotSerializable;

/// The probe's fallback.
#[doc(hidden)]
pub trait ProbeFallback {
    /// No codec.
    fn probe(self) -> NotSerializable;
}

impl<T> ProbeFallback for Probe<T> {
    fn probe(self) -> NotSerializable {
        NotSerializable
    }
}

/// A codec, which a type that is not serializable does not have.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "kernel arguments are sent to the engines: this parameter's type must implement `serde::Serialize` and `serde::Deserialize`",
    label = "not serializable",
    note = "derive them (`#[derive(serde::Serialize, serde::Deserialize)]`), or take `&LocalArray<T>` for an array"
)]
pub trait IsScalarCodec<T> {
    /// The codec.
    fn codec(self) -> ScalarCodec<T>;
}

impl<T> IsScalarCodec<T> for ScalarCodec<T> {
    fn codec(self) -> ScalarCodec<T> {
        self
    }
}

// Reported by `not_an_array` instead; never runs.
impl<T> IsScalarCodec<T> for AliasedArray {
    fn codec(self) -> ScalarCodec<T> {
        ScalarCodec::refusing()
    }
}

/// A probe answer that is not an array behind a type alias.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this parameter is a `&LocalArray` behind a type alias, which the kernel macros take for a scalar: they recognise array parameters by the literal type `&LocalArray<T>`",
    label = "write `&LocalArray<T>` (or `&mut LocalArray<T>`) here",
    note = "the generated client function takes `&DistArray<T>` for such a parameter"
)]
pub trait NotAnArray {}

impl<T> NotAnArray for ScalarCodec<T> {}
impl NotAnArray for NotSerializable {}

/// Checks that the probe did not find an array (see [`Probe`]).
#[doc(hidden)]
pub fn not_an_array<C: NotAnArray>(_: &C) {}

/// The codec the probe found (see [`Probe`]).
#[doc(hidden)]
pub fn scalar_codec<T, C: IsScalarCodec<T>>(probed: C) -> ScalarCodec<T> {
    probed.codec()
}

/// An array parameter of the client function of kernel `K`: a
/// `&DistArray<T>`. A hidden trait rather than the type itself, so that a
/// `&LocalArray` passed inside a kernel body is one error pointing at `K::body`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the client function of kernel `{K}` takes `&DistArray<{T}>`, not `{Self}`",
    label = "expected `&DistArray<{T}>`",
    note = "inside a kernel, call the other kernel's body on local arrays instead: `{K}::body(..)`"
)]
pub trait ArrayArg<'a, T: Element, K> {
    /// The array.
    fn array(self) -> &'a DistArray<T>;
}

impl<'a, T: Element, K> ArrayArg<'a, T, K> for &'a DistArray<T> {
    fn array(self) -> &'a DistArray<T> {
        self
    }
}

impl<'a, T: Element, K> ArrayArg<'a, T, K> for &'a mut DistArray<T> {
    fn array(self) -> &'a DistArray<T> {
        self
    }
}

/// A mutable array parameter of the client function of kernel `K` (see
/// [`ArrayArg`]).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the client function of kernel `{K}` takes `&mut DistArray<{T}>`, not `{Self}`",
    label = "expected `&mut DistArray<{T}>`",
    note = "inside a kernel, call the other kernel's body on local arrays instead: `{K}::body(..)`"
)]
pub trait ArrayArgMut<'a, T: Element, K> {
    /// The array.
    fn array_mut(self) -> &'a mut DistArray<T>;
}

impl<'a, T: Element, K> ArrayArgMut<'a, T, K> for &'a mut DistArray<T> {
    fn array_mut(self) -> &'a mut DistArray<T> {
        self
    }
}

/// A parameter of a `#[vectorize]` client function: a `&DistArray<T>`, or a
/// scalar `T` applied to every element (sent as an argument, never made into
/// an array).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a `#[vectorize]` function takes `&DistArray<{T}>` or a scalar `{T}` for each parameter, not `{Self}`",
    label = "expected `&DistArray<{T}>` or `{T}`"
)]
pub trait VectorizeArg<'a, T: Element> {
    /// The argument as an operand.
    fn operand(self) -> Operand<'a, T>;
}

impl<'a, T: Element> VectorizeArg<'a, T> for &'a DistArray<T> {
    fn operand(self) -> Operand<'a, T> {
        Operand::Array(self)
    }
}

impl<'a, T: Element> VectorizeArg<'a, T> for &'a mut DistArray<T> {
    fn operand(self) -> Operand<'a, T> {
        Operand::Array(self)
    }
}

impl<'a, T: Element> VectorizeArg<'a, T> for T {
    fn operand(self) -> Operand<'a, T> {
        Operand::Scalar(self)
    }
}

impl<'a, T: Element> VectorizeArg<'a, T> for Operand<'a, T> {
    fn operand(self) -> Operand<'a, T> {
        self
    }
}
