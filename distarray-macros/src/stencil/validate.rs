//! Checks a point function and builds the [`Stencil`] model: the radius, the
//! neighbourhood parameter and its element type, the scalar parameters.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Expr, ExprLit, FnArg, Ident, ItemFn, Lit, Meta, Pat, Type};

use super::parse::Input;
use crate::ctxt::Ctxt;
use crate::options::{self, Macro, RawArgs};
use crate::signature::{check_fn_shape, path_named, return_type, ungroup};

const MAC: Macro = Macro::Stencil;

/// A checked stencil.
pub(crate) struct Stencil {
    /// The path generated code names the facade by.
    pub(crate) krate: syn::Path,
    /// The point function as written.
    pub(crate) func: ItemFn,
    /// The largest offset the update reads.
    pub(crate) radius: usize,
    /// The neighbourhood parameter's name.
    pub(crate) neighbourhood: Ident,
    /// The element type.
    pub(crate) elem: Type,
    /// The scalar parameters, sent to the engines by value.
    pub(crate) scalars: Vec<(Ident, Type)>,
}

/// The model of a valid stencil; errors in `cx` otherwise.
pub(crate) fn validate(cx: &Ctxt, input: &Input) -> Option<Stencil> {
    let (radius, given, rest) = take_radius(cx, &input.args);
    let opts = options::build(cx, MAC, &rest);
    let sig = &input.func.sig;
    check_fn_shape(cx, MAC, sig);
    if let Some(types) = &opts.types {
        cx.error_spanned_by(
            &types.path,
            format_args!("{} stencils are not generic: write one per element type", MAC.attr()),
        );
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            format_args!("{} stencils are not generic: write one per element type", MAC.attr()),
        );
    }
    let mut params = sig.inputs.iter();
    let first = params.next();
    let neighbourhood = match first {
        Some(FnArg::Typed(pt)) => {
            match (ident_of(&pt.pat), neighbourhood_elem(&pt.ty)) {
                (Some(ident), Some(elem)) => Some((ident, elem)),
                (None, _) => {
                    cx.error_spanned_by(&pt.pat, format_args!("{} needs a plain name for each parameter", MAC.attr()));
                    None
                }
                (_, None) => {
                    cx.error_spanned_by(
                    &pt.ty,
                    format_args!("the first parameter of a {} function is the point's neighbourhood: `u: &Neighbourhood<f64>`", MAC.attr()),
                );
                    None
                }
            }
        }
        _ => {
            cx.error_spanned_by(
                &sig.ident,
                format_args!(
                    "a {} function takes the point's neighbourhood first: `fn {}(u: &Neighbourhood<f64>) -> f64`",
                    MAC.attr(),
                    sig.ident
                ),
            );
            None
        }
    };
    let mut scalars = Vec::new();
    for arg in params {
        let FnArg::Typed(pt) = arg else { continue }; // receivers: check_fn_shape
        let Some(ident) = ident_of(&pt.pat) else {
            cx.error_spanned_by(&pt.pat, format_args!("{} needs a plain name for each parameter", MAC.attr()));
            continue;
        };
        let ty = ungroup(&pt.ty);
        let array_like = ["Neighbourhood", "LocalArray", "DistArray", "EngineCtx"];
        let named = |t: &Type| array_like.iter().find(|n| path_named(t, n).is_some()).copied();
        match ty {
            Type::Reference(r) => {
                let what = named(&r.elem).map_or(String::new(), |n| format!(" (`{n}`)"));
                cx.error_spanned_by(
                    ty,
                    format_args!("{} takes one neighbourhood, then scalars by value{what}: the generated kernel takes the arrays and the engine context itself", MAC.attr()),
                );
            }
            t => scalars.push((ident, t.clone())),
        }
    }
    let elem = neighbourhood.as_ref().map(|(_, elem)| elem.clone());
    match (return_type(&sig.output), &elem) {
        (Some(ret), Some(elem)) if ret.to_token_stream().to_string() == elem.to_token_stream().to_string() => {}
        (_, Some(elem)) => cx.error_spanned_by(
            &sig.output,
            format_args!(
                "a {} function returns the point's new value, of the neighbourhood's element type: `-> {}`",
                MAC.attr(),
                elem.to_token_stream()
            ),
        ),
        (_, None) => {}
    }
    let radius = match radius {
        Some(r) => Some(r),
        // An invalid radius has its own error.
        None if given => None,
        None => {
            cx.error_at(
                Span::call_site(),
                format_args!("{} needs the largest offset the update reads: `#[stencil(radius = 1)]`", MAC.attr()),
            );
            None
        }
    };
    let (neighbourhood, elem) = neighbourhood?;
    Some(Stencil { krate: opts.krate, func: input.func.clone(), radius: radius?, neighbourhood, elem, scalars })
}

/// `radius = N` out of the arguments (and whether it was given, valid or
/// not), and the others.
fn take_radius(cx: &Ctxt, args: &syn::Result<RawArgs>) -> (Option<usize>, bool, RawArgs) {
    let args = match args {
        Ok(args) => args.clone(),
        Err(e) => {
            cx.syn_error(e.clone());
            return (None, true, RawArgs::default());
        }
    };
    let (mut radius, mut given) = (None, false);
    let mut rest = RawArgs::new();
    for meta in args {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("radius") => match &nv.value {
                _ if given && radius.is_none() => {}
                Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) if !given => {
                    given = true;
                    match i.base10_parse::<usize>() {
                        Ok(r) if r > 0 => radius = Some(r),
                        _ => cx.error_spanned_by(i, format_args!("{} needs a radius of at least 1", MAC.attr())),
                    }
                }
                Expr::Lit(_) if given => {
                    cx.error_spanned_by(&nv.path, format_args!("`radius` set multiple times in {}", MAC.attr()))
                }
                other => {
                    given = true;
                    cx.error_spanned_by(
                        other,
                        format_args!("{} expects `radius` to be an integer, e.g. `radius = 1`", MAC.attr()),
                    )
                }
            },
            _ => rest.push(meta),
        }
    }
    (radius, given, rest)
}

/// The `T` of `&Neighbourhood<T>` (or `&Neighbourhood<'_, T>`).
fn neighbourhood_elem(ty: &Type) -> Option<Type> {
    let Type::Reference(r) = ungroup(ty) else { return None };
    if r.mutability.is_some() {
        return None;
    }
    match path_named(&r.elem, "Neighbourhood")?.as_slice() {
        [elem] => Some((*elem).clone()),
        _ => None,
    }
}

fn ident_of(pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(p.ident.clone()),
        _ => None,
    }
}
