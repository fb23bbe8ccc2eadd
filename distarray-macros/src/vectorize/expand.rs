//! Code generation for a checked `#[vectorize]` kernel: `#[local]`'s
//! expansion with an elementwise engine body, plus the `fromfunction` entry
//! point. Cannot fail.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::validate::Vectorized;
use crate::local::expand::{expand_with, name_lit, site, Extra};

/// The expansion of a `#[vectorize]` kernel.
pub(crate) fn expand(v: &Vectorized) -> TokenStream {
    let k = &v.kernel;
    // Generated code names runtime items only through `__private`.
    let private = {
        let krate = &k.krate;
        quote!(#krate::__private)
    };
    let krate = &private;
    let name = &k.func.sig.ident;
    let name_str = name_lit(name);
    let site = site();
    let ret = &v.ret;
    let ids: Vec<&syn::Ident> = k.params.iter().map(|p| &p.ident).collect();
    let tys = &v.param_types;
    let lits = ids.iter().map(|id| name_lit(id));
    let lits2 = lits.clone();

    // `a.iter().zip(x.iter()).zip(y.iter())` and `|((a, x), y)|`.
    let (first, rest) = match ids.split_first() {
        Some((first, rest)) => (*first, rest),
        None => return expand_with(k, Extra::default()),
    };
    let mut iter = quote!(#first.iter());
    let mut pat = quote!(#first);
    for id in rest {
        iter = quote!(#iter.zip(#id.iter()));
        pat = quote!((#pat, #id));
    }

    let run_body = quote! {
        let (_, mut __distarray_arrays, _) = __distarray_inputs.split();
        #(let #ids = __distarray_arrays.next_ref::<#tys>(#lits)?;)*
        #private::check_same_local_shape(&[#((#lits2, #ids.local_shape())),*])?;
        // Contiguous pieces (the usual case) zip as slices, which the compiler
        // turns into one vectorised pass; others go element by element. The
        // output is a checked allocation (`Err(OutOfMemory)`, not an abort).
        let __distarray_values: ::std::vec::Vec<#ret> = match (#(#ids.as_slice(),)*) {
            (#(::core::option::Option::Some(#ids),)*) => #private::collect_values(#first.len(), #iter.map(|#pat| __distarray_kernel(#(*#ids),*)))?,
            _ => #private::collect_values(#first.len(), #iter.map(|#pat| __distarray_kernel(#(*#ids),*)))?,
        };
        #private::local_like(#first, __distarray_values)?
    };

    let arity = Literal::usize_unsuffixed(ids.len());
    let from_index = tys.iter().enumerate().map(|(i, ty)| {
        let i = Literal::usize_unsuffixed(i);
        quote!(<#ty as #krate::FromIndex>::from_index(__distarray_idx[#i]))
    });
    let items = quote! {
        fn __distarray_run_index(
            __distarray_inputs: &mut #private::KernelInputs<'_>,
        ) -> #krate::Result<#private::KernelOutput> {
            #private::output_from_index(__distarray_inputs, #arity, |__distarray_idx: &[usize]| {
                __distarray_kernel(#(#from_index),*)
            })
        }

        impl #krate::IndexKernel for #name {
            const INDEX_NAME: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str, "#index");
            const INDEX_KEY: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str, "#index@", #site);
            type Elem = #ret;
        }

        #private::inventory::submit! {
            #private::KernelEntry {
                name: <#name as #krate::IndexKernel>::INDEX_KEY,
                dtype: ::core::option::Option::None,
                run: __distarray_run_index,
            }
        }
    };
    expand_with(k, Extra { same_layout: true, run_body: Some(run_body), items })
}
