//! Generic kernels: one kernel per type of `types(..)`, made by putting each
//! type in place of the kernel's type parameter.

use quote::ToTokens;
use syn::visit_mut::VisitMut;
use syn::{Ident, Type};

/// The type parameter of a generic kernel and the types it is registered for.
#[derive(Clone)]
pub(crate) struct Generic {
    /// The type parameter, e.g. `T`.
    pub(crate) param: Ident,
    /// The types of `types(..)`, in order.
    pub(crate) types: Vec<Type>,
}

/// `ty` with `with` in place of type parameter `param`.
pub(crate) fn substitute(ty: &Type, param: &Ident, with: &Type) -> Type {
    struct Replace<'a> {
        param: &'a Ident,
        with: &'a Type,
    }
    impl VisitMut for Replace<'_> {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::Path(p) = ty {
                if p.qself.is_none() && p.path.is_ident(self.param) {
                    *ty = self.with.clone();
                    return;
                }
            }
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut ty = ty.clone();
    Replace { param, with }.visit_type_mut(&mut ty);
    ty
}

/// A type as messages and registry names show it: `Complex<f64>`.
pub(crate) fn shown(ty: &Type) -> String {
    ty.to_token_stream().to_string().replace(' ', "")
}
