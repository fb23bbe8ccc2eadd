//! The arguments the macros accept: `crate = "path"` and `types(..)` (both),
//! `undo = false` (`#[local]`).

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::ctxt::Ctxt;

/// Which attribute macro is running, for messages.
#[derive(Clone, Copy)]
pub(crate) enum Macro {
    Local,
    Vectorize,
    Stencil,
}

impl Macro {
    /// The attribute as users write it, for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Macro::Local => "`#[distarray::local]`",
            Macro::Vectorize => "`#[distarray::vectorize]`",
            Macro::Stencil => "`#[distarray::stencil]`",
        }
    }
}

/// The attribute's arguments, as written (parse step: syntax only).
pub(crate) type RawArgs = Punctuated<Meta, Token![,]>;

/// Parses `args` as comma-separated `syn::Meta`s.
pub(crate) fn parse(args: TokenStream) -> syn::Result<RawArgs> {
    RawArgs::parse_terminated.parse2(args)
}

/// The validated options.
pub(crate) struct Options {
    /// The path generated code names the facade crate by (`::distarray`).
    pub(crate) krate: syn::Path,
    /// Whether a failed call puts its `&mut` arrays back (`undo = false`
    /// turns it off; `#[local]` only).
    pub(crate) undo: bool,
    /// `types(f32, f64)`: the types a generic kernel is registered for.
    pub(crate) types: Option<Types>,
}

/// The `types(..)` argument.
pub(crate) struct Types {
    /// The `types` keyword, to span errors.
    pub(crate) path: syn::Path,
    /// The types, in order.
    pub(crate) types: Vec<syn::Type>,
}

/// The options the arguments set, with errors for unknown or repeated
/// arguments recorded in `cx`.
/// The options of arguments that may have failed to parse: on failure the
/// parse error is recorded and the defaults are used, so validation goes on.
pub(crate) fn build_parsed(cx: &Ctxt, mac: Macro, args: &syn::Result<RawArgs>) -> Options {
    match args {
        Ok(args) => build(cx, mac, args),
        Err(e) => {
            cx.syn_error(e.clone());
            build(cx, mac, &RawArgs::default())
        }
    }
}

/// The options of parsed arguments, errors recorded in `cx`.
pub(crate) fn build(cx: &Ctxt, mac: Macro, args: &RawArgs) -> Options {
    let mut krate: Option<syn::Path> = None;
    let mut undo: Option<bool> = None;
    let mut types: Option<Types> = None;
    for meta in args {
        match meta {
            Meta::List(list) if list.path.is_ident("types") => {
                let Some(listed) = type_list(cx, mac, list) else { continue };
                if types.is_some() {
                    cx.error_spanned_by(&list.path, format_args!("`types` set multiple times in {}", mac.attr()));
                } else {
                    types = Some(Types { path: list.path.clone(), types: listed });
                }
            }
            Meta::Path(p) | Meta::NameValue(syn::MetaNameValue { path: p, .. }) if p.is_ident("types") => {
                cx.error_spanned_by(
                    meta,
                    format_args!("{} expects `types(..)` with a list of types, e.g. `types(f32, f64)`", mac.attr()),
                );
            }
            Meta::NameValue(nv) if nv.path.is_ident("undo") && matches!(mac, Macro::Local) => {
                let Some(value) = bool_value(cx, mac, "undo", &nv.value) else { continue };
                if undo.is_some() {
                    cx.error_spanned_by(&nv.path, format_args!("`undo` set multiple times in {}", mac.attr()));
                } else {
                    undo = Some(value);
                }
            }
            Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                let Some(path) = crate_path(cx, mac, &nv.value) else { continue };
                if krate.is_some() {
                    cx.error_spanned_by(&nv.path, format_args!("`crate` set multiple times in {}", mac.attr()));
                } else {
                    krate = Some(path);
                }
            }
            Meta::Path(p) | Meta::List(syn::MetaList { path: p, .. }) if p.is_ident("crate") => {
                cx.error_spanned_by(
                    meta,
                    format_args!("{} expects `crate = \"path\"`, e.g. `crate = \"distarray\"`", mac.attr()),
                );
            }
            other => {
                let name = other.path();
                let shown = quote::quote!(#name).to_string().replace(' ', "");
                let valid = match mac {
                    Macro::Local => "the valid arguments are `crate = \"path\"`, `types(..)` and `undo = false`",
                    Macro::Vectorize => "the valid arguments are `crate = \"path\"` and `types(..)`",
                    Macro::Stencil => "the valid arguments are `radius = N` and `crate = \"path\"`",
                };
                cx.error_spanned_by(name, format_args!("unknown argument `{shown}` of {}; {valid}", mac.attr()));
            }
        }
    }
    Options { krate: krate.unwrap_or_else(default_crate), undo: undo.unwrap_or(true), types }
}

/// The types of `types(..)`: at least one, none twice.
fn type_list(cx: &Ctxt, mac: Macro, list: &syn::MetaList) -> Option<Vec<syn::Type>> {
    let parsed = match list.parse_args_with(Punctuated::<syn::Type, Token![,]>::parse_terminated) {
        Ok(parsed) => parsed,
        Err(e) => {
            cx.syn_error(e);
            return None;
        }
    };
    if parsed.is_empty() {
        cx.error_spanned_by(list, format_args!("{} needs at least one type in `types(..)`", mac.attr()));
        return None;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut types = Vec::new();
    for ty in parsed {
        let shown = crate::generic::shown(&ty);
        if seen.contains(&shown) {
            cx.error_spanned_by(&ty, format_args!("`{shown}` is listed twice in `types(..)`; list each type once"));
            continue;
        }
        seen.push(shown);
        types.push(ty);
    }
    Some(types)
}

fn bool_value(cx: &Ctxt, mac: Macro, name: &str, value: &Expr) -> Option<bool> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) => Some(b.value),
        other => {
            cx.error_spanned_by(other, format_args!("{} expects `{name}` to be `true` or `false`", mac.attr()));
            None
        }
    }
}

/// `::distarray`.
fn default_crate() -> syn::Path {
    let mut segments = Punctuated::new();
    segments.push(syn::PathSegment::from(syn::Ident::new("distarray", Span::call_site())));
    syn::Path { leading_colon: Some(Default::default()), segments }
}

fn crate_path(cx: &Ctxt, mac: Macro, value: &Expr) -> Option<syn::Path> {
    let lit: &LitStr = match value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => s,
        other => {
            cx.error_spanned_by(
                other,
                format_args!("{} expects `crate` to be a string literal, e.g. `crate = \"distarray\"`", mac.attr()),
            );
            return None;
        }
    };
    match lit.parse::<syn::Path>() {
        Ok(path) => Some(path),
        Err(_) => {
            cx.error_spanned_by(
                lit,
                format_args!("`{}` is not a path; {} expects e.g. `crate = \"distarray\"`", lit.value(), mac.attr()),
            );
            None
        }
    }
}
