//! Semantics: every parameter and the return type must be element types;
//! every problem is recorded in the [`Ctxt`].

use syn::Type;

use super::parse::{is_element_type, Input, ELEMENT_TYPES};
use crate::ctxt::Ctxt;
use crate::local::validate::{Kernel, Kind, Param, Ret};
use crate::options::{self, Macro};
use crate::signature::{check_fn_shape, generic, is_type_param, return_type, typed_params, ungroup};

/// A checked `#[vectorize]` kernel: a `#[local]` kernel whose parameters are
/// all `&LocalArray<T>` (each of which the client may replace by a scalar),
/// returning `LocalArray<R>`.
pub(crate) struct Vectorized {
    /// The kernel as `#[local]` would see it.
    pub(crate) kernel: Kernel,
}

const MAC: Macro = Macro::Vectorize;

/// Checks `input`; returns the kernel if every part could be understood
/// (errors are in `cx` either way).
pub(crate) fn validate(cx: &Ctxt, input: &Input) -> Option<Vectorized> {
    let what = MAC.attr();
    let options = options::build_parsed(cx, MAC, &input.args);
    let sig = &input.func.sig;
    check_fn_shape(cx, MAC, sig);
    let generic = generic(cx, MAC, sig, options.types.as_ref());
    for ty in generic.iter().flat_map(|g| &g.types) {
        if !is_element_type(ty) {
            cx.error_spanned_by(
                ty,
                format_args!(
                    "{what} registers kernels of element types only: list some of {ELEMENT_TYPES} in `types(..)`"
                ),
            );
        }
    }
    // A generic kernel's type parameter stands for the listed element types.
    let element = |ty: &Type| is_element_type(ty) || (generic.is_some() && is_type_param(sig, ty));

    let mut ok = true;
    let mut params = Vec::new();
    if sig.inputs.is_empty() {
        cx.error_at(
            sig.paren_token.span.join(),
            format_args!("{what} needs at least one parameter: the function is applied to the elements of its array arguments; use `#[distarray::local]` for other kernels"),
        );
        ok = false;
    }
    for (ident, pt) in typed_params(cx, MAC, sig) {
        let ty = &*pt.ty;
        if !element(ty) {
            match ungroup(ty) {
                _ if is_type_param(sig, ty) => {}
                Type::Reference(r) if is_element_type(&r.elem) => {
                    let elem = &r.elem;
                    cx.error_spanned_by(
                        ty,
                        format_args!("{what} passes each element by value: take `{}`, not a reference", quote::quote!(#elem).to_string().replace(' ', "")),
                    );
                }
                _ => cx.error_spanned_by(
                    ty,
                    format_args!("{what} parameters must be element types: one of {ELEMENT_TYPES}; use `#[distarray::local]` for other kernels"),
                ),
            }
            ok = false;
            continue;
        }
        match ident {
            Some(ident) => params.push(Param { ident, kind: Kind::Array { elem: ty.clone(), mutable: false } }),
            None => ok = false,
        }
    }
    let ret = match return_type(&sig.output) {
        Some(ty) if element(ty) => Some(ty.clone()),
        Some(ty) if is_type_param(sig, ty) => None,
        Some(ty) => {
            cx.error_spanned_by(
                ty,
                format_args!("{what} functions must return an element type: one of {ELEMENT_TYPES}"),
            );
            None
        }
        None => {
            cx.error_spanned_by(
                &sig.ident,
                format_args!("{what} functions must return an element type (one of {ELEMENT_TYPES}): the results form a new array"),
            );
            None
        }
    };
    match (ok, ret) {
        (true, Some(ret)) => Some(Vectorized {
            kernel: Kernel {
                krate: options.krate,
                func: input.func.clone(),
                params,
                ret: Ret::Array(ret),
                fallible: false,
                undo: true,
                generic,
            },
        }),
        _ => None,
    }
}
