//! What both macros check on the function they are put on, and the syntactic
//! classification of types they share.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{FnArg, Ident, ItemFn, Pat, PatType, ReturnType, Signature, Type};

use crate::ctxt::Ctxt;
use crate::generic::Generic;
use crate::options::{Macro, Types};

/// Parses the item the attribute is on: a function with a body. Anything
/// else is an error spanned on the item's head.
pub(crate) fn parse_fn(mac: Macro, item: TokenStream) -> syn::Result<ItemFn> {
    let msg = format!("{} applies to free functions with a body; put it on a `fn` item", mac.attr());
    match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(f)) => Ok(f),
        Ok(other) => Err(syn::Error::new_spanned(item_head(&other), msg)),
        Err(_) => Err(syn::Error::new_spanned(item, msg)),
    }
}

/// The first tokens of an item, to span an error without underlining all of it.
fn item_head(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Struct(s) => {
            let (kw, name) = (&s.struct_token, &s.ident);
            quote!(#kw #name)
        }
        syn::Item::Enum(e) => {
            let (kw, name) = (&e.enum_token, &e.ident);
            quote!(#kw #name)
        }
        syn::Item::Impl(i) => {
            let (kw, ty) = (&i.impl_token, &i.self_ty);
            quote!(#kw #ty)
        }
        syn::Item::Trait(t) => {
            let (kw, name) = (&t.trait_token, &t.ident);
            quote!(#kw #name)
        }
        syn::Item::Mod(m) => {
            let (kw, name) = (&m.mod_token, &m.ident);
            quote!(#kw #name)
        }
        other => other.to_token_stream(),
    }
}

/// Rejects what no kernel can be: methods, `async`, `const`, `unsafe`,
/// `extern` or variadic functions (generics: [`generic`]).
pub(crate) fn check_fn_shape(cx: &Ctxt, mac: Macro, sig: &Signature) {
    let what = mac.attr();
    if let Some(t) = &sig.constness {
        cx.error_spanned_by(
            t,
            format_args!("{what} kernels cannot be `const fn`: they run on the engines at run time; remove `const`"),
        );
    }
    if let Some(t) = &sig.asyncness {
        cx.error_spanned_by(
            t,
            format_args!("{what} kernels cannot be `async`: each engine runs a kernel to completion; remove `async` and block inside the body if needed"),
        );
    }
    if let Some(t) = &sig.unsafety {
        cx.error_spanned_by(
            t,
            format_args!("{what} kernels cannot be `unsafe fn`: the generated client function calls them safely; remove `unsafe` and use an `unsafe` block inside the body"),
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            format_args!(
                "{what} kernels cannot have an `extern` ABI: they are called by the distarray engines; remove it"
            ),
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(
            v,
            format_args!("{what} kernels cannot be variadic; take the values as a `Vec<T>` parameter"),
        );
    }
    for input in &sig.inputs {
        if let FnArg::Receiver(r) = input {
            cx.error_spanned_by(
                r,
                format_args!("{what} applies to free functions, not methods: `self` cannot be sent to the engines; make it a free function"),
            );
        }
    }
}

/// The type parameter of a generic kernel with the types of `types(..)`, or
/// `None` for a kernel that is not generic (or is wrongly so: errors in `cx`).
pub(crate) fn generic(cx: &Ctxt, mac: Macro, sig: &Signature, types: Option<&Types>) -> Option<Generic> {
    let what = mac.attr();
    let generics = &sig.generics;
    let mut params = generics.params.iter();
    let first = params.next();
    for extra in params {
        cx.error_spanned_by(
            extra,
            format_args!("{what} kernels take at most one type parameter, which each type of `types(..)` replaces; remove this one"),
        );
    }
    match (first, types) {
        (None, None) => {
            if let Some(w) = &generics.where_clause {
                cx.error_spanned_by(w, format_args!("{what} kernels without type parameters take no `where` clause"));
            }
            None
        }
        (None, Some(types)) => {
            cx.error_spanned_by(
                &types.path,
                format_args!("`types(..)` lists the types that replace a generic kernel's type parameter, and this function has none: remove `types(..)`, or declare `<T>`"),
            );
            None
        }
        (Some(syn::GenericParam::Type(tp)), Some(types)) => {
            Some(Generic { param: tp.ident.clone(), types: types.types.clone() })
        }
        (Some(syn::GenericParam::Type(_)), None) => {
            let where_clause = &generics.where_clause;
            let attr = match mac {
                Macro::Local => "#[distarray::local(types(f32, f64))]",
                Macro::Vectorize => "#[distarray::vectorize(types(f32, f64))]",
                Macro::Stencil => "#[distarray::stencil(radius = 1)]",
            };
            cx.error_spanned_by(
                quote!(#generics #where_clause),
                format_args!("{what} registers one kernel per type on every engine: list the types of this generic kernel, e.g. `{attr}`"),
            );
            None
        }
        (Some(other), _) => {
            cx.error_spanned_by(
                other,
                format_args!("{what} kernels take no lifetime or const parameters: one type parameter, with `types(..)`, is the only generic kind"),
            );
            None
        }
    }
}

/// The typed parameters, each with its name if it is a plain identifier
/// (else an error is recorded, when the iterator reaches it, and the name is
/// `None`).
pub(crate) fn typed_params<'a>(
    cx: &'a Ctxt,
    mac: Macro,
    sig: &'a Signature,
) -> impl Iterator<Item = (Option<Ident>, &'a PatType)> + 'a {
    sig.inputs.iter().filter_map(move |input| match input {
        FnArg::Typed(pt) => Some((param_ident(cx, mac, pt), pt)),
        FnArg::Receiver(_) => None,
    })
}

/// Whether `ty` is one of the function's own type parameters (already
/// reported as generics).
pub(crate) fn is_type_param(sig: &Signature, ty: &Type) -> bool {
    let Type::Path(p) = ungroup(ty) else { return false };
    sig.generics.type_params().any(|tp| p.qself.is_none() && p.path.is_ident(&tp.ident))
}

fn param_ident(cx: &Ctxt, mac: Macro, pt: &PatType) -> Option<Ident> {
    match &*pt.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(p.ident.clone()),
        pat => {
            cx.error_spanned_by(
                pat,
                format_args!(
                    "{} parameters must be plain identifiers (`name: Type`): the name identifies the argument on the client; destructure inside the body instead",
                    mac.attr()
                ),
            );
            None
        }
    }
}

/// `ty` without invisible groups and parentheses (as macro_rules leave them).
pub(crate) fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(g) => ty = &g.elem,
            Type::Paren(p) => ty = &p.elem,
            _ => return ty,
        }
    }
}

/// If `ty` is a path whose last segment is `name`, that segment's generic
/// type arguments (empty if it has none).
pub(crate) fn path_named<'a>(ty: &'a Type, name: &str) -> Option<Vec<&'a Type>> {
    let Type::Path(tp) = ungroup(ty) else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let last = tp.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    Some(match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|arg| match arg {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// The return type, if it is not `()` or omitted.
pub(crate) fn return_type(output: &ReturnType) -> Option<&Type> {
    match output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => match ungroup(ty) {
            Type::Tuple(t) if t.elems.is_empty() => None,
            _ => Some(ty),
        },
    }
}

/// Emits the user's function unchanged plus the errors, so that only the
/// intended diagnostics show and the IDE still sees the function.
pub(crate) fn with_errors(item: impl ToTokens, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    quote!(#item #errors)
}
