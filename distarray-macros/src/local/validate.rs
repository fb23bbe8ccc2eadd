//! Semantics: which parameters are arrays, scalars or the engine context,
//! what the kernel returns; every problem is recorded in the [`Ctxt`].

use quote::ToTokens;
use syn::{Ident, ItemFn, Type};

use super::parse::{param_type, return_kind, Input, ParamType, ReturnType};
use crate::ctxt::Ctxt;
use crate::generic::{substitute, Generic};
use crate::options::{self, Macro};
use crate::signature::{check_fn_shape, generic, path_named, typed_params, ungroup};

impl Kind {
    /// This parameter with `with` in place of type parameter `param`.
    pub(crate) fn substituted(&self, param: &Ident, with: &Type) -> Kind {
        match self {
            Kind::Array { elem, mutable } => Kind::Array { elem: substitute(elem, param, with), mutable: *mutable },
            Kind::Engine => Kind::Engine,
            Kind::Scalar(ty) => Kind::Scalar(substitute(ty, param, with)),
        }
    }
}

impl Ret {
    /// This return type with `with` in place of type parameter `param`.
    pub(crate) fn substituted(&self, param: &Ident, with: &Type) -> Ret {
        match self {
            Ret::Unit => Ret::Unit,
            Ret::Array(elem) => Ret::Array(substitute(elem, param, with)),
            Ret::Value(ty) => Ret::Value(substitute(ty, param, with)),
        }
    }
}

/// A checked `#[local]` kernel, ready to expand.
pub(crate) struct Kernel {
    /// The path of the facade crate.
    pub(crate) krate: syn::Path,
    /// The user's function.
    pub(crate) func: ItemFn,
    /// Its parameters, in order.
    pub(crate) params: Vec<Param>,
    /// What it returns (inside `Result` when `fallible`).
    pub(crate) ret: Ret,
    /// It returns `Result<..>`: an `Err` fails the call, as a panic does.
    pub(crate) fallible: bool,
    /// A failed call puts its `&mut` arrays back (`undo = false` turns it off).
    pub(crate) undo: bool,
    /// The type parameter and `types(..)` of a generic kernel.
    pub(crate) generic: Option<Generic>,
}

/// One parameter of a kernel.
#[derive(Clone)]
pub(crate) struct Param {
    /// Its name.
    pub(crate) ident: Ident,
    /// What it is.
    pub(crate) kind: Kind,
}

/// What a parameter is.
#[derive(Clone)]
pub(crate) enum Kind {
    /// `&LocalArray<elem>` or `&mut LocalArray<elem>`.
    Array { elem: Type, mutable: bool },
    /// `&EngineCtx`.
    Engine,
    /// A value sent from the client, of this type.
    Scalar(Type),
}

/// What a kernel returns.
#[derive(Clone)]
pub(crate) enum Ret {
    /// `()`.
    Unit,
    /// `LocalArray<elem>`: the pieces form a new DistArray.
    Array(Type),
    /// A value per engine.
    Value(Type),
}

const MAC: Macro = Macro::Local;

/// Checks `input`; returns the kernel if every part could be understood
/// (errors are in `cx` either way).
pub(crate) fn validate(cx: &Ctxt, input: &Input) -> Option<Kernel> {
    let what = MAC.attr();
    let options = options::build_parsed(cx, MAC, &input.args);
    let sig = &input.func.sig;
    check_fn_shape(cx, MAC, sig);
    let generic = generic(cx, MAC, sig, options.types.as_ref());
    let mut ok = true;
    let mut params = Vec::new();
    let mut engine_seen = false;
    for (ident, pt) in typed_params(cx, MAC, sig) {
        let ty = &*pt.ty;
        let kind = match param_type(ty) {
            ParamType::Array { args, mutable } => element_type(cx, ty, &args).map(|elem| Kind::Array { elem, mutable }),
            ParamType::ArrayByValue => {
                cx.error_spanned_by(
                    ty,
                    format_args!("{what} kernels receive arrays by reference: take `&LocalArray<T>` (or `&mut LocalArray<T>` to change it in place)"),
                );
                None
            }
            ParamType::Engine { mutable: true } => {
                cx.error_spanned_by(
                    ty,
                    format_args!(
                        "{what} gives kernels the engine context shared: take `&EngineCtx`, not `&mut EngineCtx`"
                    ),
                );
                None
            }
            ParamType::Engine { mutable: false } if engine_seen => {
                cx.error_spanned_by(
                    ty,
                    format_args!("{what} kernels take at most one `&EngineCtx` parameter; remove this one"),
                );
                None
            }
            ParamType::Engine { mutable: false } => {
                engine_seen = true;
                Some(Kind::Engine)
            }
            ParamType::EngineByValue => {
                cx.error_spanned_by(
                    ty,
                    format_args!("{what} gives kernels the engine context by reference: take `&EngineCtx`"),
                );
                None
            }
            ParamType::DistArrayRef => {
                cx.error_spanned_by(
                    ty,
                    format_args!("{what} kernels see each engine's piece of an array: take `&LocalArray<T>` here; the generated client function takes `&DistArray<T>`"),
                );
                None
            }
            ParamType::Reference(r) => {
                let owned = owned_suggestion(r);
                let msg = if matches!(ungroup(&r.elem), Type::Path(_)) && owned != "String" {
                    // `&Piece` may be an alias of `LocalArray<T>`, which the
                    // macro cannot see through.
                    format!("{what} recognises array parameters by the literal type `&LocalArray<T>` (it cannot see through type aliases): for an array, write `&LocalArray<T>` here; a scalar is sent by value, so take it as `{owned}`")
                } else {
                    format!("{what} sends scalar arguments to the engines by value: take it by value (`{owned}`), or take `&LocalArray<T>` for an array")
                };
                cx.error_spanned_by(ty, msg);
                None
            }
            ParamType::Scalar if is_optional_array(ty) => {
                cx.error_spanned_by(
                    ty,
                    format_args!("{what} kernels cannot take optional arrays: every array argument is sent to the kernel's engines; take `&LocalArray<T>` (with a `bool` scalar saying whether to use it), or write two kernels"),
                );
                None
            }
            ParamType::ImplTrait => {
                cx.error_spanned_by(
                    ty,
                    format_args!("{what} kernels cannot take `impl Trait` parameters: each argument is serialized to the engines; use a concrete type that implements `Serialize + DeserializeOwned`"),
                );
                None
            }
            ParamType::Scalar => Some(Kind::Scalar(ty.clone())),
        };
        match (ident, kind) {
            (Some(ident), Some(kind)) => params.push(Param { ident, kind }),
            _ => ok = false,
        }
    }

    let (kind, fallible) = return_kind(&sig.output);
    let ret = match kind {
        ReturnType::Unit => Some(Ret::Unit),
        ReturnType::Array(args) => element_type(cx, &sig.output, &args).map(Ret::Array),
        ReturnType::Reference => {
            cx.error_spanned_by(
                &sig.output,
                format_args!("{what} kernels cannot return references: results are stored on the engines or sent to the client; return an owned value"),
            );
            None
        }
        ReturnType::ImplTrait => {
            cx.error_spanned_by(
                &sig.output,
                format_args!("{what} kernels cannot return `impl Trait`: results are sent to the client; return a concrete type that implements `Serialize + DeserializeOwned`"),
            );
            None
        }
        ReturnType::Value(ty) => Some(Ret::Value(ty.clone())),
    };

    match (ok, ret) {
        (true, Some(ret)) => Some(Kernel {
            krate: options.krate,
            func: input.func.clone(),
            params,
            ret,
            fallible,
            undo: options.undo,
            generic,
        }),
        _ => None,
    }
}

/// Whether `ty` is `Option<&LocalArray<..>>`.
fn is_optional_array(ty: &Type) -> bool {
    matches!(path_named(ty, "Option").as_deref(), Some([inner]) if matches!(ungroup(inner), Type::Reference(r) if path_named(&r.elem, "LocalArray").is_some()))
}

/// The `T` of a `LocalArray<T>`.
fn element_type(cx: &Ctxt, spanned: impl ToTokens, args: &[&Type]) -> Option<Type> {
    match args {
        [elem] => Some((*elem).clone()),
        _ => {
            cx.error_spanned_by(
                spanned,
                format_args!("{} needs the element type of `LocalArray`, e.g. `LocalArray<f64>`", MAC.attr()),
            );
            None
        }
    }
}

/// What to take instead of reference `r`: `String` for `&str`, `Vec<T>` for
/// `&[T]`, `T` for `&T`.
fn owned_suggestion(r: &syn::TypeReference) -> String {
    let shown = |t: &Type| t.to_token_stream().to_string().replace(" < ", "<").replace(" >", ">").replace(" ,", ",");
    match crate::signature::ungroup(&r.elem) {
        Type::Path(p) if p.path.is_ident("str") => "String".to_string(),
        Type::Slice(s) => format!("Vec<{}>", shown(&s.elem)),
        t => shown(t),
    }
}
