//! `#[local]`: a function run on every engine, on that engine's pieces.
//!
//! [`parse`] reads the attribute and the function, [`validate`] checks them
//! and builds the [`validate::Kernel`] model (collecting every error),
//! [`expand`] generates the code and cannot fail.

pub(crate) mod expand;
pub(crate) mod parse;
pub(crate) mod validate;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::signature::with_errors;

/// The `#[local]` attribute on `item`.
pub(crate) fn local(args: TokenStream, item: TokenStream) -> TokenStream {
    let input = match parse::parse(args, item.clone()) {
        Ok(input) => input,
        Err(e) => return with_errors(item, e),
    };
    let cx = Ctxt::new();
    let kernel = validate::validate(&cx, &input);
    match (cx.check(), kernel) {
        (Ok(()), Some(kernel)) => expand::expand(&kernel),
        (Err(e), _) => with_errors(&input.func, e),
        // Unreachable: validation yields no kernel only after an error.
        (Ok(()), None) => with_errors(
            &input.func,
            syn::Error::new_spanned(&input.func.sig.ident, "internal error in `#[distarray::local]`"),
        ),
    }
}
