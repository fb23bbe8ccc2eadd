//! Code generation for a checked `#[vectorize]` kernel: `#[local]`'s
//! expansion with an elementwise engine body over array and scalar
//! parameters, plus the `fromfunction` entry point. Cannot fail.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::{Ident, Type};

use super::validate::Vectorized;
use crate::local::expand::{expand_with, name_lit, site, Flavor, Instance};
use crate::local::validate::{Kind, Ret};

/// Up to this many parameters, each mix of arrays and scalars gets a loop of
/// its own over contiguous pieces (2^n loops), which the compiler vectorises
/// like a hand-written one; more parameters share one loop that branches per
/// element.
const SPECIALISED_PARAMS: usize = 4;

/// The expansion of a `#[vectorize]` kernel.
pub(crate) fn expand(v: &Vectorized) -> TokenStream {
    let k = &v.kernel;
    // Generated code names runtime items only through `__private`.
    let private = {
        let krate = &k.krate;
        quote!(#krate::__private)
    };
    let run_body = |inst: &Instance| run_body(&private, inst);
    let items = |inst: &Instance| index_items(&private, inst);
    expand_with(k, Flavor { vectorize: true, run_body: Some(&run_body), items: Some(&items) })
}

/// The parameter names and element types, and the element type returned.
fn signature(inst: &Instance) -> (Vec<&Ident>, Vec<&Type>, Option<&Type>) {
    let ids = inst.params.iter().map(|p| &p.ident).collect();
    let tys = inst
        .params
        .iter()
        .filter_map(|p| match &p.kind {
            Kind::Array { elem, .. } => Some(elem),
            _ => None,
        })
        .collect();
    let ret = match &inst.ret {
        Ret::Array(elem) => Some(elem),
        _ => None,
    };
    (ids, tys, ret)
}

/// The engine side: each parameter is this engine's piece of an array or a
/// scalar (sent as `Option`s, `None` for arrays); the values go into a piece
/// shaped like the first array's.
fn run_body(private: &TokenStream, inst: &Instance) -> TokenStream {
    let (ids, tys, ret) = signature(inst);
    let lits: Vec<_> = ids.iter().map(|id| name_lit(id)).collect();
    let body = &inst.body;
    let n = quote!(__distarray_n);

    // `a.iter().zip(x.iter()).zip(y.iter())` and `|((a, x), y)|`.
    let mut iter = TokenStream::new();
    let mut pat = TokenStream::new();
    for (i, id) in ids.iter().enumerate() {
        if i == 0 {
            iter = quote!(#id.iter());
            pat = quote!(#id);
        } else {
            iter = quote!(#iter.zip(#id.iter()));
            pat = quote!((#pat, #id));
        }
    }
    let general = quote!(#private::collect_values(#n, #iter.map(|#pat| #body(#(#ids),*)))?);
    let values = if ids.len() <= SPECIALISED_PARAMS {
        let specialised = lanes(private, body, &ids, &mut Vec::new(), &n);
        quote! {
            match (#(#ids.lane(#n),)*) {
                (#(::core::option::Option::Some(#ids),)*) => #specialised,
                _ => #general,
            }
        }
    } else {
        general
    };
    quote! {
        let (__distarray_args, mut __distarray_arrays, _) = __distarray_inputs.split();
        let (#(#ids,)*): (#(::core::option::Option<#tys>,)*) = __distarray_args.decode()?;
        #(let #ids = #private::LocalOperand::take(#ids, &mut __distarray_arrays, #lits)?;)*
        let __distarray_layout = #private::operand_layout(&[#((#lits, #ids.layout())),*])?;
        let #n: usize = __distarray_layout.0.iter().product();
        // Contiguous pieces (the usual case) go through an indexed loop per
        // mix of arrays and scalars, which the compiler turns into one
        // vectorised pass; others go element by element. The output is a
        // checked allocation (`Err(OutOfMemory)`, not an abort).
        let __distarray_values: ::std::vec::Vec<#ret> = #values;
        #private::local_from_values(__distarray_layout, __distarray_values)?
    }
}

/// Nested matches over the lanes of `ids[slices.len()..]`, each leaf a loop
/// reading slices by index and scalars as they are.
fn lanes(
    private: &TokenStream,
    body: &TokenStream,
    ids: &[&Ident],
    slices: &mut Vec<bool>,
    n: &TokenStream,
) -> TokenStream {
    let i = slices.len();
    if i == ids.len() {
        let args = ids.iter().zip(slices.iter()).map(
            |(id, &slice)| {
                if slice {
                    quote!(#id[__distarray_i])
                } else {
                    quote!(#id)
                }
            },
        );
        return quote!(#private::collect_values(#n, (0..#n).map(|__distarray_i| #body(#(#args),*)))?);
    }
    let id = ids[i];
    slices.push(true);
    let with_slice = lanes(private, body, ids, slices, n);
    slices.pop();
    slices.push(false);
    let with_scalar = lanes(private, body, ids, slices, n);
    slices.pop();
    quote! {
        match #id {
            #private::Lane::Slice(#id) => #with_slice,
            #private::Lane::Splat(#id) => #with_scalar,
        }
    }
}

/// The `fromfunction` entry point of an instance and its registration.
fn index_items(private: &TokenStream, inst: &Instance) -> TokenStream {
    let krate = private;
    let (ids, tys, ret) = signature(inst);
    let Instance { self_ty, body, name_str, run, .. } = inst;
    let run_index = format_ident!("{}_index", run);
    let site = site();
    let arity = Literal::usize_unsuffixed(ids.len());
    let from_index = tys.iter().enumerate().map(|(i, ty)| {
        let i = Literal::usize_unsuffixed(i);
        quote!(<#ty as #krate::FromIndex>::from_index(__distarray_idx[#i]))
    });
    quote! {
        fn #run_index(
            __distarray_inputs: &mut #private::KernelInputs<'_>,
        ) -> #krate::Result<#private::KernelOutput> {
            #private::output_from_index(__distarray_inputs, #arity, |__distarray_idx: &[usize]| {
                #body(#(#from_index),*)
            })
        }

        impl #krate::IndexKernel for #self_ty {
            const INDEX_NAME: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str, "#index");
            const INDEX_KEY: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str, "#index@", #site);
            type Elem = #ret;
        }

        #private::inventory::submit! {
            #private::KernelEntry {
                name: <#self_ty as #krate::IndexKernel>::INDEX_KEY,
                dtype: ::core::option::Option::None,
                run: #run_index,
            }
        }
    }
}
