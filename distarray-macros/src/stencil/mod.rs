//! `#[stencil(radius = R)]`: the update of one point from its neighbourhood,
//! applied over an array with ghost cells as a `#[local]` kernel (exchange,
//! then one pass over the cells with a whole neighbourhood, into an existing
//! output).
//!
//! [`parse`] reads the attribute and the function, [`validate`] checks the
//! point function and builds the [`validate::Stencil`] model (collecting
//! every error), [`expand`] writes the `#[local]` kernel and hands it to
//! `#[local]`'s own expansion.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::signature::with_errors;

/// The `#[stencil]` attribute on `item`.
pub(crate) fn stencil(args: TokenStream, item: TokenStream) -> TokenStream {
    let input = match parse::parse(args, item.clone()) {
        Ok(input) => input,
        Err(e) => return with_errors(item, e),
    };
    let cx = Ctxt::new();
    let model = validate::validate(&cx, &input);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand::expand(&model),
        (Err(e), _) => with_errors(&input.func, e),
        // Unreachable: validation yields no model only after an error.
        (Ok(()), None) => with_errors(
            &input.func,
            syn::Error::new_spanned(&input.func.sig.ident, "internal error in `#[distarray::stencil]`"),
        ),
    }
}
