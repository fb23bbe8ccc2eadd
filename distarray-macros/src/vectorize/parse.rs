//! Syntax only: the attribute's arguments and the function.

use proc_macro2::TokenStream;
use syn::{ItemFn, Type};

use crate::options::{self, Macro, RawArgs};
use crate::signature::{parse_fn, path_named, ungroup};

/// A `#[vectorize]` input as written.
pub(crate) struct Input {
    /// The attribute's arguments (a syntax error in them is reported with
    /// the other errors).
    pub(crate) args: syn::Result<RawArgs>,
    /// The function.
    pub(crate) func: ItemFn,
}

/// Parses the attribute's arguments and the item; fails only if the item is
/// not a function.
pub(crate) fn parse(args: TokenStream, item: TokenStream) -> syn::Result<Input> {
    let func = parse_fn(Macro::Vectorize, item)?;
    Ok(Input { args: options::parse(args), func })
}

/// The element types, as users may write them (last path segment).
pub(crate) const ELEMENT_TYPES: &str =
    "bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, Complex<f32>, Complex<f64>";

const PRIMITIVES: [&str; 11] = ["bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64"];

/// Whether `ty` names an element type by its last path segment.
pub(crate) fn is_element_type(ty: &Type) -> bool {
    let named = |t: &Type, name: &str| path_named(t, name).is_some() && no_args(t);
    match path_named(ty, "Complex") {
        Some(args) => matches!(args.as_slice(), [f] if named(f, "f32") || named(f, "f64")),
        None => PRIMITIVES.iter().any(|p| named(ty, p)),
    }
}

/// Whether the last segment of path type `ty` has no generic arguments.
fn no_args(ty: &Type) -> bool {
    match ungroup(ty) {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.arguments.is_none()),
        _ => false,
    }
}
