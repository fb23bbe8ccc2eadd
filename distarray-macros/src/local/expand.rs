//! Code generation for a checked kernel; cannot fail. `#[vectorize]` reuses
//! it with its own engine-side body and client arguments.
//!
//! A kernel `scale` becomes: the client function `scale`; a type `scale`
//! (`scale<T>` for a generic kernel) whose associated fn `body` is the
//! user's function as written; and, per registered type, an impl of
//! `Kernel` and an engine entry point, registered through `inventory`. A
//! generic kernel's client function is generic over a hidden trait
//! implemented for exactly the types of `types(..)`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr, Type};

use super::validate::{Kernel, Kind, Param, Ret};
use crate::generic::shown;

/// One registered kernel: the kernel itself, or one type of a generic one.
pub(crate) struct Instance {
    /// The type implementing `Kernel`: `scale` or `scale<f32>`.
    pub(crate) self_ty: TokenStream,
    /// The user's function: `scale::body` or `scale::<f32>::body`.
    pub(crate) body: TokenStream,
    /// The name after the module path: `scale` or `scale::<f32>`.
    pub(crate) name_str: LitStr,
    /// The parameters, the type put in for a generic kernel's parameter.
    pub(crate) params: Vec<Param>,
    /// The return type, likewise.
    pub(crate) ret: Ret,
    /// The engine entry point.
    pub(crate) run: Ident,
}

/// The registered kernels of `k`: one, or one per type of `types(..)`.
pub(crate) fn instances(k: &Kernel) -> Vec<Instance> {
    let name = &k.func.sig.ident;
    let unraw = name.unraw().to_string();
    match &k.generic {
        None => vec![Instance {
            self_ty: quote!(#name),
            body: quote!(#name::body),
            name_str: LitStr::new(&unraw, name.span()),
            params: k.params.clone(),
            ret: k.ret.clone(),
            run: format_ident!("__distarray_run"),
        }],
        Some(g) => g
            .types
            .iter()
            .enumerate()
            .map(|(i, ty)| Instance {
                self_ty: quote!(#name<#ty>),
                body: quote!(#name::<#ty>::body),
                name_str: LitStr::new(&format!("{unraw}::<{}>", shown(ty)), name.span()),
                params: k
                    .params
                    .iter()
                    .map(|p| Param { ident: p.ident.clone(), kind: p.kind.substituted(&g.param, ty) })
                    .collect(),
                ret: k.ret.substituted(&g.param, ty),
                run: format_ident!("__distarray_run_{}", i),
            })
            .collect(),
    }
}

/// What `#[vectorize]` changes in a `#[local]` expansion.
pub(crate) struct Flavor<'a> {
    /// Client parameters take `&DistArray<T>` or a scalar `T`
    /// (`VectorizeArg`); the arrays must have one shape and distribution.
    pub(crate) vectorize: bool,
    /// The engine-side body computing `__distarray_result` for an instance
    /// (default: take the arguments and call the body).
    pub(crate) run_body: Option<&'a dyn Fn(&Instance) -> TokenStream>,
    /// More items inside the `const _` block, for an instance.
    pub(crate) items: Option<&'a dyn Fn(&Instance) -> TokenStream>,
}

/// The expansion of a `#[local]` kernel.
pub(crate) fn expand(k: &Kernel) -> TokenStream {
    expand_with(k, Flavor { vectorize: false, run_body: None, items: None })
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
/// on the body too (lints).
fn split_attrs(attrs: &[Attribute]) -> (Vec<&Attribute>, Vec<&Attribute>) {
    let is = |a: &Attribute, names: &[&str]| names.iter().any(|n| a.path().is_ident(n));
    let cfg = attrs.iter().filter(|a| is(a, &["cfg"])).collect();
    let lints = attrs.iter().filter(|a| is(a, &["allow", "warn", "deny", "forbid", "expect"])).collect();
    (cfg, lints)
}

/// The codec of a scalar parameter of type `ty`: one error at `ty` if it is
/// not serializable or is an array behind a type alias (see
/// `distarray::__private::Probe`).
fn codec(private: &TokenStream, ty: &Type) -> TokenStream {
    quote_spanned! {ty.span()=> {
        #[allow(unused_imports)]
        use #private::{ProbeAlias as _, ProbeCodec as _, ProbeFallback as _};
        let __distarray_probe = (&&#private::Probe::<#ty>::new()).probe();
        #private::not_an_array(&__distarray_probe);
        #private::scalar_codec(__distarray_probe)
    }}
}

/// The pieces of client code over a list of parameters.
struct Client<'a> {
    krate: &'a TokenStream,
    vectorize: bool,
    has_array: bool,
    context: Ident,
}

impl Client<'_> {
    /// The client function's parameters, for kernel type `kernel`.
    fn params(&self, kernel: &TokenStream, params: &[Param]) -> Vec<TokenStream> {
        let krate = self.krate;
        let mut out: Vec<TokenStream> = Vec::new();
        if !self.has_array {
            let ctx = &self.context;
            out.push(quote!(#ctx: &#krate::Context));
        }
        for p in params {
            let id = &p.ident;
            out.push(match &p.kind {
                Kind::Array { elem, .. } if self.vectorize => {
                    quote!(#id: impl #krate::VectorizeArg<'__distarray_a, #elem>)
                }
                Kind::Array { elem, mutable: false } => {
                    quote!(#id: impl #krate::ArrayArg<'__distarray_a, #elem, #kernel>)
                }
                Kind::Array { elem, mutable: true } => {
                    quote!(#id: impl #krate::ArrayArgMut<'__distarray_a, #elem, #kernel>)
                }
                Kind::Scalar(ty) => quote!(#id: #ty),
                Kind::Engine => continue,
            });
        }
        out
    }

    /// The lifetime of the client function's arrays.
    fn lifetime(&self) -> TokenStream {
        if self.has_array {
            quote!('__distarray_a,)
        } else {
            quote!()
        }
    }

    /// The names the client function passes on.
    fn ids(&self, params: &[Param]) -> Vec<Ident> {
        let mut ids: Vec<Ident> = Vec::new();
        if !self.has_array {
            ids.push(self.context.clone());
        }
        ids.extend(params.iter().filter(|p| !matches!(p.kind, Kind::Engine)).map(|p| p.ident.clone()));
        ids
    }

    /// The client function's `Ok` type.
    fn ret(&self, ret: &Ret) -> TokenStream {
        let krate = self.krate;
        match ret {
            Ret::Unit => quote!(()),
            Ret::Array(elem) => quote!(#krate::DistArray<#elem>),
            Ret::Value(ty) => quote!(::std::vec::Vec<#ty>),
        }
    }

    /// `where` bounds that make the client's `DistArray<..>` types well formed.
    fn bounds(&self, params: &[Param], ret: &Ret) -> Vec<TokenStream> {
        let krate = self.krate;
        let mut elems: Vec<&Type> = params
            .iter()
            .filter_map(|p| if let Kind::Array { elem, .. } = &p.kind { Some(elem) } else { None })
            .collect();
        if let Ret::Array(elem) = ret {
            elems.push(elem);
        }
        elems.iter().map(|e| quote!(#e: #krate::Element)).collect()
    }

    /// The body of the client function for kernel type `self_ty`.
    fn call(&self, self_ty: &TokenStream, params: &[Param], ret: &Ret) -> TokenStream {
        let krate = self.krate;
        let run = match ret {
            Ret::Unit => quote!(run_unit()),
            Ret::Array(_) => quote!(run_array()),
            Ret::Value(ty) => quote!(run_values::<#ty>()),
        };
        if self.vectorize {
            let ids: Vec<&Ident> = params.iter().map(|p| &p.ident).collect();
            let build = operand_call(krate, self_ty, params);
            return quote! {
                #(let #ids = #krate::VectorizeArg::operand(#ids);)*
                { #build }?.needs_array()?.same_layout()?.#run
            };
        }
        let ids: Vec<&Ident> = params.iter().filter(|p| !matches!(p.kind, Kind::Engine)).map(|p| &p.ident).collect();
        let arrays = params.iter().filter_map(|p| {
            let id = &p.ident;
            match &p.kind {
                Kind::Array { mutable: false, .. } => Some(quote!(let #id = #krate::ArrayArg::array(#id);)),
                Kind::Array { mutable: true, .. } => Some(quote!(let #id = #krate::ArrayArgMut::array_mut(#id);)),
                _ => None,
            }
        });
        let context_call = if self.has_array {
            quote!()
        } else {
            let ctx = &self.context;
            quote!(.context(#ctx)?)
        };
        quote! {
            #(#arrays)*
            <#self_ty as #krate::Kernel>::call((#(#ids,)*))? #context_call . #run
        }
    }
}

/// A `#[vectorize]` call of kernel type `self_ty` whose parameters are bound
/// to `Operand`s: the arrays as array arguments, the scalars as `Option`s
/// (`None` for an array) in one tuple; a `Result<KernelCall>`.
fn operand_call(krate: &TokenStream, self_ty: &TokenStream, params: &[Param]) -> TokenStream {
    let ids: Vec<&Ident> = params.iter().map(|p| &p.ident).collect();
    let lits = ids.iter().map(|id| name_lit(id));
    quote! {
        let mut __distarray_call = #krate::KernelCall::new(<#self_ty as #krate::Kernel>::KEY);
        #(let #ids = match #ids {
            #krate::Operand::Array(__distarray_array) => {
                __distarray_call = __distarray_call.array(#lits, __distarray_array)?;
                ::core::option::Option::None
            }
            #krate::Operand::Scalar(__distarray_value) => ::core::option::Option::Some(__distarray_value),
        };)*
        __distarray_call.args(&(#(#ids,)*))
    }
}

/// The expansion of a kernel, with `#[vectorize]`'s changes.
pub(crate) fn expand_with(k: &Kernel, flavor: Flavor<'_>) -> TokenStream {
    // Generated code names runtime items only through `__private`.
    let private = {
        let krate = &k.krate;
        quote!(#krate::__private)
    };
    let krate = &private;
    let func = &k.func;
    let name = &func.sig.ident;
    let vis = &func.vis;
    let attrs = &func.attrs;
    let (cfg_attrs, lint_attrs) = split_attrs(attrs);
    let has_array = k.params.iter().any(|p| matches!(p.kind, Kind::Array { .. }));
    let context = if k.params.iter().any(|p| p.ident == "context") {
        format_ident!("__distarray_context")
    } else {
        Ident::new("context", Span::call_site())
    };
    let client = Client { krate, vectorize: flavor.vectorize, has_array, context };
    let instances = instances(k);

    // The type of the kernel's name, holding the body.
    let (kernel_type, body_impl) = {
        let mut sig = func.sig.clone();
        sig.ident = Ident::new("body", name.span());
        sig.generics = syn::Generics::default();
        // The statements, not the block: a block as the tail expression
        // would trip `unused_braces` in the user's code.
        let stmts = &func.block.stmts;
        let (impl_generics, ty_generics, where_clause) = func.sig.generics.split_for_impl();
        let kernel_type = match &k.generic {
            None => quote!(#vis struct #name {}),
            Some(g) => {
                let param = &g.param;
                // Braced: a tuple struct's constructor would take the client
                // function's name.
                quote!(#vis struct #name<#param> { __distarray_type: ::core::marker::PhantomData<fn() -> #param> })
            }
        };
        let doc = format!(
            "The body of kernel `{}` as written, to call on local arrays: from a unit test, or from another kernel.",
            name.unraw()
        );
        let body_impl = quote! {
            impl #impl_generics #name #ty_generics #where_clause {
                #[doc = #doc]
                #(#lint_attrs)*
                #vis #sig {
                    // The kernel's own name inside its body is the body, so
                    // that recursion stays on the engine.
                    #[allow(unused_variables)]
                    let #name = Self::body;
                    #(#stmts)*
                }
            }
        };
        (kernel_type, body_impl)
    };

    // The client function.
    let client_fn = match &k.generic {
        None => {
            let inst = &instances[0];
            let params = client.params(&inst.self_ty, &inst.params);
            let ret = client.ret(&inst.ret);
            let call = client.call(&inst.self_ty, &inst.params, &inst.ret);
            let lifetime = client.lifetime();
            quote! {
                #(#attrs)*
                #vis fn #name<#lifetime>(#(#params),*) -> #krate::Result<#ret> {
                    #call
                }
            }
        }
        Some(g) => {
            let param = &g.param;
            let trait_name = format_ident!("__distarray_types_{}", name.unraw());
            let self_ty: Type = syn::parse_quote!(Self);
            let selfed: Vec<Param> = k
                .params
                .iter()
                .map(|p| Param { ident: p.ident.clone(), kind: p.kind.substituted(param, &self_ty) })
                .collect();
            let selfed_ret = k.ret.substituted(param, &self_ty);
            let params = client.params(&quote!(#name<#param>), &k.params);
            let (ret, bounds) = (client.ret(&k.ret), client.bounds(&k.params, &k.ret));
            let s_params = client.params(&quote!(#name<Self>), &selfed);
            let (s_ret, s_bounds) = (client.ret(&selfed_ret), client.bounds(&selfed, &selfed_ret));
            let ids = client.ids(&k.params);
            let s_call = client.call(&quote!(#name<Self>), &selfed, &selfed_ret);
            let listed = g.types.iter().map(shown).collect::<Vec<_>>().join(", ");
            let message = format!("kernel `{}` is registered for {listed} only, not `{{Self}}`", name.unraw());
            let label = format!("not one of {listed}");
            let lifetime = client.lifetime();
            let impls = g.types.iter().map(|ty| {
                quote! {
                    #(#cfg_attrs)*
                    impl #trait_name for #ty {
                        fn __distarray_call<#lifetime>(#(#s_params),*) -> #krate::Result<#s_ret> where #(#s_bounds,)* {
                            #s_call
                        }
                    }
                }
            });
            quote! {
                #(#attrs)*
                #vis fn #name<#lifetime #param>(#(#params),*) -> #krate::Result<#ret>
                where #param: #trait_name, #(#bounds,)*
                {
                    <#param as #trait_name>::__distarray_call(#(#ids),*)
                }

                #(#cfg_attrs)*
                #[doc(hidden)]
                #[allow(non_camel_case_types)]
                #[diagnostic::on_unimplemented(
                    message = #message,
                    label = #label,
                    note = "a generic kernel is registered for the types of `types(..)` in its attribute; add the type there"
                )]
                #vis trait #trait_name: ::core::marker::Sized + 'static {
                    #[doc(hidden)]
                    fn __distarray_call<#lifetime>(#(#s_params),*) -> #krate::Result<#s_ret> where #(#s_bounds,)*;
                }

                #(#impls)*
            }
        }
    };

    let registered = instances.iter().map(|inst| instance_items(k, &flavor, inst));

    quote! {
        #client_fn

        #(#cfg_attrs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        #kernel_type

        #(#cfg_attrs)*
        const _: () = {
            #body_impl

            #(#registered)*
        };
    }
}

/// The `Kernel` impl, engine entry point and registration of one instance.
fn instance_items(k: &Kernel, flavor: &Flavor<'_>, inst: &Instance) -> TokenStream {
    let private = {
        let krate = &k.krate;
        quote!(#krate::__private)
    };
    let krate = &private;
    let Instance { self_ty, body, name_str, params, ret, run } = inst;
    let site = site();
    let has_array = params.iter().any(|p| matches!(p.kind, Kind::Array { .. }));
    let client: Vec<&Param> = params.iter().filter(|p| !matches!(p.kind, Kind::Engine)).collect();
    let client_ids: Vec<&Ident> = client.iter().map(|p| &p.ident).collect();
    let args_types = client.iter().map(|p| match &p.kind {
        Kind::Array { elem, mutable: false } => quote!(&'a #krate::DistArray<#elem>),
        Kind::Array { elem, mutable: true } => quote!(&'a mut #krate::DistArray<#elem>),
        Kind::Scalar(ty) => quote!(#ty),
        Kind::Engine => quote!(),
    });
    let output_kind = match ret {
        Ret::Unit => quote!(#krate::ReturnsUnit),
        Ret::Array(elem) => quote!(#krate::ReturnsArray<#elem>),
        Ret::Value(ty) => quote!(#krate::ReturnsValue<#ty>),
    };

    // Kernel::call: arrays in order, then scalars in order (as the engine
    // takes them).
    let call_body = if flavor.vectorize {
        let ids: Vec<&Ident> = params.iter().map(|p| &p.ident).collect();
        let build = operand_call(krate, self_ty, params);
        quote! {
            #(let #ids = #krate::Operand::Array(#ids);)*
            #build
        }
    } else {
        let without_undo = if k.undo { quote!() } else { quote!(.without_undo()) };
        let arrays = client.iter().filter_map(|p| {
            let id = &p.ident;
            let lit = name_lit(id);
            match &p.kind {
                Kind::Array { mutable: false, .. } => Some(quote!(.array(#lit, #id))),
                Kind::Array { mutable: true, .. } => Some(quote!(.array(#lit, &*#id))),
                _ => None,
            }
        });
        let scalars = client.iter().filter_map(|p| match &p.kind {
            Kind::Scalar(ty) => {
                let id = &p.ident;
                let codec = codec(&private, ty);
                Some(quote!(.arg(&#codec, &#id)))
            }
            _ => None,
        });
        quote! {
            let __distarray_call = #krate::KernelCall::new(<Self as #krate::Kernel>::KEY) #without_undo;
            #(let __distarray_call = __distarray_call #arrays ?;)*
            #(let __distarray_call = __distarray_call #scalars ?;)*
            ::core::result::Result::Ok(__distarray_call)
        }
    };

    // Engine side.
    let run_body = match flavor.run_body {
        Some(f) => f(inst),
        None => {
            let uses_engine = params.iter().any(|p| matches!(p.kind, Kind::Engine));
            let has_scalar = params.iter().any(|p| matches!(p.kind, Kind::Scalar(_)));
            let args_pat = if has_scalar { quote!(mut __distarray_args) } else { quote!(_) };
            let arrays_pat = if has_array { quote!(mut __distarray_arrays) } else { quote!(_) };
            let engine_pat = if uses_engine { quote!(__distarray_engine) } else { quote!(_) };
            let lets = params.iter().filter_map(|p| {
                let id = &p.ident;
                let lit = name_lit(id);
                match &p.kind {
                    Kind::Scalar(ty) => {
                        let codec = codec(&private, ty);
                        Some(quote!(let #id: #ty = __distarray_args.next(&#codec, #lit)?;))
                    }
                    _ => None,
                }
            });
            let array_lets = params.iter().filter_map(|p| {
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
            let call_args = params.iter().map(|p| match p.kind {
                Kind::Engine => quote!(__distarray_engine),
                _ => {
                    let id = &p.ident;
                    quote!(#id)
                }
            });
            quote! {
                let (#args_pat, #arrays_pat, #engine_pat) = __distarray_inputs.split();
                #(#lets)*
                #(#array_lets)*
                #body(#(#call_args),*)
            }
        }
    };
    // A `Result` kernel's `Err` fails the call on this engine.
    let run_body = if k.fallible { quote!(#private::kernel_result({ #run_body })?) } else { run_body };
    let run_output = match ret {
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
    let extra_items = flavor.items.map(|f| f(inst)).unwrap_or_default();

    quote! {
        fn #run(
            __distarray_inputs: &mut #private::KernelInputs<'_>,
        ) -> #krate::Result<#private::KernelOutput> {
            #run_output
        }

        impl #krate::Kernel for #self_ty {
            const NAME: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str);
            const KEY: &'static str = ::core::concat!(::core::module_path!(), "::", #name_str, "@", #site);
            type Args<'a> = (#(#args_types,)*);
            type Output = #output_kind;
            fn call(__distarray_args: Self::Args<'_>) -> #krate::Result<#private::KernelCall> {
                let (#(#client_ids,)*) = __distarray_args;
                #call_body
            }
        }

        #private::inventory::submit! {
            #private::KernelEntry {
                name: <#self_ty as #krate::Kernel>::KEY,
                dtype: ::core::option::Option::None,
                run: #run,
            }
        }

        #extra_items
    }
}
