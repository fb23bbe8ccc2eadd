//! Syntax only: the attribute's arguments, the function, and what each
//! parameter and the return type look like.

use proc_macro2::TokenStream;
use syn::{ItemFn, Type, TypeReference};

use crate::options::{self, Macro, RawArgs};
use crate::signature::{parse_fn, path_named, return_type, ungroup};

/// A `#[local]` input as written.
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
    let func = parse_fn(Macro::Local, item)?;
    Ok(Input { args: options::parse(args), func })
}

/// What a parameter type looks like.
pub(crate) enum ParamType<'a> {
    /// `&LocalArray<..>` or `&mut LocalArray<..>`, with its generic arguments.
    Array { args: Vec<&'a Type>, mutable: bool },
    /// `LocalArray<..>` by value.
    ArrayByValue,
    /// `&EngineCtx` or `&mut EngineCtx`.
    Engine { mutable: bool },
    /// `EngineCtx` by value.
    EngineByValue,
    /// `&DistArray<..>` (the client-side type, by mistake).
    DistArrayRef,
    /// Any other reference.
    Reference(&'a TypeReference),
    /// `impl Trait`.
    ImplTrait,
    /// Anything else: a scalar sent by value.
    Scalar,
}

/// Classifies a parameter type by its syntax (last path segment).
pub(crate) fn param_type(ty: &Type) -> ParamType<'_> {
    match ungroup(ty) {
        Type::Reference(r) => {
            let mutable = r.mutability.is_some();
            if let Some(args) = path_named(&r.elem, "LocalArray") {
                ParamType::Array { args, mutable }
            } else if path_named(&r.elem, "EngineCtx").is_some() {
                ParamType::Engine { mutable }
            } else if path_named(&r.elem, "DistArray").is_some() {
                ParamType::DistArrayRef
            } else {
                ParamType::Reference(r)
            }
        }
        Type::ImplTrait(_) => ParamType::ImplTrait,
        t if path_named(t, "LocalArray").is_some() => ParamType::ArrayByValue,
        t if path_named(t, "EngineCtx").is_some() => ParamType::EngineByValue,
        _ => ParamType::Scalar,
    }
}

/// What the return type looks like.
pub(crate) enum ReturnType<'a> {
    /// None or `()`.
    Unit,
    /// `LocalArray<..>`, with its generic arguments.
    Array(Vec<&'a Type>),
    /// A reference.
    Reference,
    /// `impl Trait`.
    ImplTrait,
    /// Anything else.
    Value(&'a Type),
}

/// Classifies the return type by its syntax; `true` with it for a
/// `Result<..>` (the kind is then that of its `Ok` type).
pub(crate) fn return_kind(output: &syn::ReturnType) -> (ReturnType<'_>, bool) {
    let Some(ty) = return_type(output) else { return (ReturnType::Unit, false) };
    match path_named(ty, "Result").as_deref() {
        Some([ok] | [ok, _]) => (type_kind(ok), true),
        _ => (type_kind(ty), false),
    }
}

fn type_kind(ty: &Type) -> ReturnType<'_> {
    match ungroup(ty) {
        Type::Tuple(t) if t.elems.is_empty() => ReturnType::Unit,
        Type::Reference(_) => ReturnType::Reference,
        Type::ImplTrait(_) => ReturnType::ImplTrait,
        t => match path_named(t, "LocalArray") {
            Some(args) => ReturnType::Array(args),
            None => ReturnType::Value(ty),
        },
    }
}
