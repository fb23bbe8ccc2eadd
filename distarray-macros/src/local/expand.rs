//! Code generation for a checked kernel; cannot fail. `#[vectorize]` reuses
//! it with its own engine-side body.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr};

use super::validate::{Kernel, Kind, Param, Ret};

/// What `#[vectorize]` changes in a `#[local]` expansion.
#[derive(Default)]
pub(crate) struct Extra {
    /// The client checks that all arrays have one shape and distribution.
    pub(crate) same_layout: bool,
    /// The engine-side body computing `__distarray_result` (default: take the
    /// arguments and call the kernel).
    pub(crate) run_body: Option<TokenStream>,
    /// More items inside the `const _` block.
    pub(crate) items: TokenStream,
}

/// The expansion of a `#[local]` kernel.
pub(crate) fn expand(k: &Kernel) -> TokenStream {
    expand_with(k, Extra::default())
}

/// The name of a parameter as a string literal (raw identifiers unrawed).
pub(crate) fn name_lit(ident: &Ident) -> LitStr {
    LitStr::new(&ident.unraw().to_string(), ident.span())
}

/// The definition site of a kernel, as `concat!` arguments that give
/// `file:line:column` of its attribute (of the outermost macro call when the
/// kernel comes from one: the built-in macros report where the expansion
/// started): the part of a registry key that tells two kernels of one name in
/// one module apart. A constant of the binary, so the same on every rank.
pub(crate) fn site() -> TokenStream {
    quote!(::core::file!(), ":", ::core::line!(), ":", ::core::column!())
}

/// The attributes that go on every generated item (`cfg`), and those that go
/// on the kernel function too (lints).
fn split_attrs(attrs: &[Attribute]) -> (Vec<&Attribute>, Vec<&Attribute>) {
    let is = |a: &Attribute, names: &[&str]| names.iter().any(|n| a.path().is_ident(n));
    let cfg = attrs.iter().filter(|a| is(a, &["cfg"])).collect();
    let lints = attrs.iter().filter(|a| is(a, &["allow", "warn", "deny", "forbid", "expect"])).collect();
    (cfg, lints)
}

/// The expansion of a kernel, with `#[vectorize]`'s changes.
pub(crate) fn expand_with(k: &Kernel, extra: Extra) -> TokenStream {
    // Generated code names runtime items only through `__private`.
    let private = {
        let krate = &k.krate;
        quote!(#krate::__private)
    };
    let krate = &private;
    let func = &k.func;
    let name = &func.sig.ident;
    let name_str = name_lit(name);
    let site = site();
    let vis = &func.vis;
    let attrs = &func.attrs;
    let (cfg_attrs, lint_attrs) = split_attrs(attrs);

    // Client side.
    let has_array = k.params.iter().any(|p| matches!(p.kind, Kind::Array { .. }));
    let client: Vec<&Param> = k.params.iter().filter(|p| !matches!(p.kind, Kind::Engine)).collect();
    let client_ids: Vec<&Ident> = client.iter().map(|p| &p.ident).collect();
    let client_params = client.iter().map(|p| {
        let id = &p.ident;
        match &p.kind {
            Kind::Array { elem, mutable: false } => quote!(#id: &#krate::DistArray<#elem>),
            Kind::Array { elem, mutable: true } => quote!(#id: &mut #krate::DistArray<#elem>),
            Kind::Scalar(ty) => quote!(#id: #ty),
            Kind::Engine => quote!(),
        }
    });
    let args_types = client.iter().map(|p| match &p.kind {
        Kind::Array { elem, mutable: false } => quote!(&'a #krate::DistArray<#elem>),
        Kind::Array { elem, mutable: true } => quote!(&'a mut #krate::DistArray<#elem>),
        Kind::Scalar(ty) => quote!(#ty),
        Kind::Engine => quote!(),
    });
    let (context_param, context_call) = if has_array {
        (quote!(), quote!())
    } else {
        let taken = k.params.iter().any(|p| p.ident == "context");
        let ctx = if taken { format_ident!("__distarray_context") } else { Ident::new("context", Span::call_site()) };
        (quote!(#ctx: &#krate::Context,), quote!(.context(#ctx)?))
    };
    let same_layout = if extra.same_layout { quote!(.same_layout()?) } else { quote!() };
    let (client_ret, run, output_kind) = match &k.ret {
        Ret::Unit => (quote!(()), quote!(run_unit()), quote!(#krate::ReturnsUnit)),
        Ret::Array(elem) => {
            (quote!(#krate::DistArray<#elem>), quote!(run_array()), quote!(#krate::ReturnsArray<#elem>))
        }
        Ret::Value(ty) => {
            (quote!(::std::vec::Vec<#ty>), quote!(run_values::<#ty>()), quote!(#krate::ReturnsValue<#ty>))
        }
    };

    // Kernel::call.
    let array_calls = client.iter().filter_map(|p| {
        let id = &p.ident;
        let lit = name_lit(id);
        match &p.kind {
            Kind::Array { mutable: false, .. } => Some(quote!(.array(#lit, #id)?)),
            Kind::Array { mutable: true, .. } => Some(quote!(.array(#lit, &*#id)?)),
            _ => None,
        }
    });
    let scalars: Vec<(&Ident, &syn::Type)> = k
        .params
        .iter()
        .filter_map(|p| match &p.kind {
            Kind::Scalar(ty) => Some((&p.ident, ty)),
            _ => None,
        })
        .collect();
    let scalar_ids: Vec<&Ident> = scalars.iter().map(|(id, _)| *id).collect();
    let scalar_tys: Vec<&syn::Type> = scalars.iter().map(|(_, ty)| *ty).collect();
    // Spanned on the parameter types, so a missing `Serialize` points there.
    let scalar_span = scalar_tys.first().map_or_else(Span::call_site, |t| t.span());
    let without_undo = if k.undo { quote!() } else { quote!(.without_undo()) };
    let set_args = quote_spanned!(scalar_span=> .args(&(#(#scalar_ids,)*)));

    // Engine side.
    let kernel_fn = {
        let mut sig = func.sig.clone();
        sig.ident = format_ident!("__distarray_kernel");
        let block = &func.block;
        quote!(#(#lint_attrs)* #sig #block)
    };
    let run_body = extra.run_body.unwrap_or_else(|| {
        let uses_engine = k.params.iter().any(|p| matches!(p.kind, Kind::Engine));
        let args_pat = if scalars.is_empty() { quote!(_) } else { quote!(__distarray_args) };
        let arrays_pat = if has_array { quote!(mut __distarray_arrays) } else { quote!(_) };
        let engine_pat = if uses_engine { quote!(__distarray_engine) } else { quote!(_) };
        let decode = if scalars.is_empty() {
            quote!()
        } else {
            quote_spanned!(scalar_span=> let (#(#scalar_ids,)*): (#(#scalar_tys,)*) = __distarray_args.decode()?;)
        };
        let array_lets = k.params.iter().filter_map(|p| {
            let id = &p.ident;
            let lit = name_lit(id);
            match &p.kind {
                Kind::Array { elem, mutable: false } => {
                    Some(quote!(let #id = __distarray_arrays.next_ref::<#elem>(#lit)?;))
                }
                Kind::Array { elem, mutable: true } => {
                    Some(quote!(let #id = __distarray_arrays.next_mut::<#elem>(#lit)?;))
                }
                _ => None,
            }
        });
        let call_args = k.params.iter().map(|p| match p.kind {
            Kind::Engine => quote!(__distarray_engine),
            _ => {
                let id = &p.ident;
                quote!(#id)
            }
        });
        quote! {
            let (#args_pat, #arrays_pat, #engine_pat) = __distarray_inputs.split();
            #decode
            #(#array_lets)*
            __distarray_kernel(#(#call_args),*)
        }
    });
    // A `Result` kernel's `Err` fails the call on this engine.
    let run_body = if k.fallible { quote!(#private::kernel_result({ #run_body })?) } else { run_body };
    let run_output = match &k.ret {
        Ret::Unit => quote! {
            { #run_body }
            #private::output_unit(())
        },
        Ret::Array(_) => quote! {
            let __distarray_result = { #run_body };
            #private::output_array(__distarray_inputs, __distarray_result)
        },
        Ret::Value(_) => quote! {
            let __distarray_result = { #run_body };
            #private::output_value(&__distarray_result)
        },
    };
    let extra_items = extra.items;

    quote! {
        #(#attrs)*
        #vis fn #name(#context_param #(#client_params),*) -> #krate::Result<#client_ret> {
            <#name as #krate::Kernel>::call((#(#client_ids,)*))? #context_call #same_layout . #run
        }

        #(#cfg_attrs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}

        #(#cfg_attrs)*
        const _: () = {
            #kernel_fn

            fn __distarray_run(
                __distarray_inputs: &mut #private::KernelInputs<'_>,
            ) -> #krate::Result<#private::KernelOutput> {
                #run_output
            }

            impl #krate::Kernel for #name {
                const NAME: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str);
                const KEY: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str, "@", #site);
                type Args<'a> = (#(#args_types,)*);
                type Output = #output_kind;
                fn call(__distarray_args: Self::Args<'_>) -> #krate::Result<#private::KernelCall> {
                    let (#(#client_ids,)*) = __distarray_args;
                    #private::KernelCall::new(<Self as #krate::Kernel>::KEY)
                        #without_undo
                        #(#array_calls)*
                        #set_args
                }
            }

            #private::inventory::submit! {
                #private::KernelEntry {
                    name: <#name as #krate::Kernel>::KEY,
                    dtype: ::core::option::Option::None,
                    run: __distarray_run,
                }
            }

            #extra_items
        };
    }
}
