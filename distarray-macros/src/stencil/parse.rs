//! Syntax only: the attribute's arguments and the function.

use proc_macro2::TokenStream;
use syn::ItemFn;

use crate::options::{self, Macro, RawArgs};
use crate::signature::parse_fn;

/// A `#[stencil]` input as written.
pub(crate) struct Input {
    /// The attribute's arguments (a syntax error in them is reported with
    /// the other errors).
    pub(crate) args: syn::Result<RawArgs>,
    /// The point function.
    pub(crate) func: ItemFn,
}

/// Parses the attribute's arguments and the item; fails only if the item is
/// not a function.
pub(crate) fn parse(args: TokenStream, item: TokenStream) -> syn::Result<Input> {
    let func = parse_fn(Macro::Stencil, item)?;
    Ok(Input { args: options::parse(args), func })
}
