//! Code generation for a checked stencil; cannot fail. The stencil becomes a
//! `#[local(undo = false)]` kernel over the input and the output arrays
//! (expanded by `#[local]` itself), plus `<name>::point`, the point function
//! as written.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::validate::Stencil;

/// The expansion of a `#[stencil]` function.
pub(crate) fn expand(s: &Stencil) -> TokenStream {
    let krate = &s.krate;
    let func = &s.func;
    let (name, vis, block) = (&func.sig.ident, &func.vis, &func.block);
    let (u, elem, radius) = (&s.neighbourhood, &s.elem, s.radius);
    // Doc comments and lints stay on the client function.
    let attrs = &func.attrs;
    let ids: Vec<_> = s.scalars.iter().map(|(id, _)| id).collect();
    let tys: Vec<_> = s.scalars.iter().map(|(_, ty)| ty).collect();
    let out = if ids.iter().any(|id| *id == "out") { format_ident!("__distarray_out") } else { format_ident!("out") };
    let krate_lit = syn::LitStr::new(&quote!(#krate).to_string().replace(' ', ""), proc_macro2::Span::call_site());
    let kernel = quote! {
        #(#attrs)*
        #vis fn #name(
            #u: &mut #krate::LocalArray<#elem>,
            #out: &mut #krate::LocalArray<#elem>,
            #(#ids: #tys,)*
            __distarray_engine: &#krate::EngineCtx,
        ) -> #krate::Result<()> {
            #u.apply_stencil(#out, #radius, __distarray_engine.comm(), |__distarray_n| {
                #name::point(__distarray_n, #(::core::clone::Clone::clone(&#ids)),*)
            })
        }
    };
    // Undo copies would copy both arrays on every step; a failed pass only
    // leaves `out` partly written.
    let local = crate::local::local(quote!(crate = #krate_lit, undo = false), kernel);
    quote! {
        #local

        impl #name {
            /// The update of one point, as written: callable on its own
            /// (e.g. in a unit test).
            #[allow(clippy::too_many_arguments)]
            #vis fn point(#u: &#krate::Neighbourhood<'_, #elem>, #(#ids: #tys),*) -> #elem #block
        }
    }
}
