//! The attribute macros of [distarray](https://docs.rs/distarray):
//! [`#[local]`](macro@local) turns a function over one engine's pieces
//! ([`LocalArray`]s) into a kernel registered on every engine plus a client
//! function over [`DistArray`]s; [`#[vectorize]`](macro@vectorize) turns a
//! function of scalars into an elementwise kernel.
//!
//! Use them through the facade: `#[distarray::local]`, or
//! `use distarray::{local, vectorize};`.
//!
//! [`LocalArray`]: https://docs.rs/distarray/latest/distarray/struct.LocalArray.html
//! [`DistArray`]: https://docs.rs/distarray/latest/distarray/struct.DistArray.html
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod ctxt;
mod generic;
mod local;
mod options;
mod signature;
mod vectorize;

use proc_macro::TokenStream;

/// Runs a function on every engine, on that engine's pieces of the arrays it
/// is given, and generates the client function that dispatches it.
///
/// ```
/// use distarray::prelude::*;
/// use distarray::local;
///
/// /// Multiplies every element by `k`.
/// #[local]
/// pub fn scale(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
///     a.mapv(|x| x * k)
/// }
///
/// /// The sum of this engine's elements.
/// #[local]
/// fn local_sum(a: &LocalArray<f64>) -> f64 {
///     a.iter().sum()
/// }
///
/// /// Adds one in place.
/// #[local]
/// fn increment(a: &mut LocalArray<f64>) {
///     a.mapv_inplace(|x| x + 1.0);
/// }
///
/// /// Which engine runs the kernel (no array argument: the client function
/// /// takes the context first).
/// #[local]
/// fn rank(engine: &EngineCtx) -> usize {
///     engine.rank()
/// }
///
/// fn main() -> distarray::Result<()> {
///     let ctx = Context::new()?;
///     let d = Distribution::from_shape(&ctx, &[8, 6])?;
///     let mut x = ctx.ones::<f64>(&d)?;
///     let y: DistArray<f64> = scale(&x, 2.0)?;
///     let sums: Vec<f64> = local_sum(&y)?;              // one per engine
///     assert_eq!(sums.iter().sum::<f64>(), 96.0);
///     increment(&mut x)?;
///     assert!(x.toarray()?.iter().all(|&v| v == 2.0));
///     assert_eq!(rank(&ctx)?, (0..ctx.num_targets()).collect::<Vec<_>>());
///     // The same kernel on chosen engines, through the generated type:
///     let some = ctx.apply::<local_sum>((&y,), Some(&[0, 2]))?;
///     assert_eq!(some.len(), 2);
///     Ok(())
/// }
/// ```
///
/// # Parameters
/// - `&LocalArray<T>`: this engine's piece of a `&DistArray<T>` argument of
///   the client function; `&mut LocalArray<T>` changes it in place (the client
///   takes `&mut DistArray<T>`).
/// - `&EngineCtx` (at most one, anywhere): the engine's rank, the number of
///   engines and a communicator for collectives inside the kernel. The client
///   function does not have it.
/// - Anything else is a scalar: an owned `Serialize + DeserializeOwned` value,
///   sent to every engine.
///
/// A kernel without any array parameter runs on every engine of a context,
/// which its client function takes as first parameter (`context: &Context`).
///
/// # Return value
/// `()` gives `Result<()>`; `LocalArray<T>` gives `Result<DistArray<T>>` (the
/// engines' pieces, which must tile an array); any other `R` gives
/// `Result<Vec<R>>`, one value per engine in engine order. A kernel
/// returning `Result<X, E>` (any `E: Display`) is one returning `X` whose
/// `Err` fails the call (a `distarray::Error` keeps its kind). A panic or an
/// `Err` inside the kernel comes back as an `Err` naming the kernel and the
/// engine. Values that are `Vec<T>` or ndarray arrays of an element type
/// travel as raw bytes; other values through serde.
///
/// # Failures change nothing
/// When the call fails on any engine, every array it borrowed is, on every
/// engine, as it was before the call: before handing out a `&mut LocalArray`
/// the engine keeps a copy of it, puts the copy back if the call fails there,
/// and is told to put it back by the client if the call failed elsewhere.
/// **Memory:** each `&mut` piece once more, for the duration of the call and
/// until the engine's next command (kept for reuse while kernel calls follow
/// one another); `&LocalArray` parameters cost nothing. **Time:** one copy of
/// each `&mut` piece per call. `undo = false` (below) turns this off.
/// Calling a `Context` or `DistArray` method inside a kernel is
/// `Err(NestedCall)`: engines cannot drive the client's context.
///
/// The macro also defines a hidden type of the same name implementing
/// `distarray::Kernel`, for [`Context::apply`].
///
/// # Registration
/// The kernel is registered at link time (through `inventory`) under a key
/// made of its name, `module_path!()::fn_name`, and the site of its
/// definition, the `file!()`, `line!()` and `column!()` of the `#[local]`
/// attribute: `my_crate::physics::scale@src/physics.rs:12:1`. The key is a
/// constant of the binary, so every MPI rank running it finds the same
/// function, and two kernels of one name in one module (each defined inside
/// a different function) are two kernels: each client function and each
/// `Context::apply::<name>` runs its own definition. Errors name the kernel
/// by `module::fn_name`.
///
/// A macro's expansion takes the site of the outermost macro call, so one
/// `macro_rules!` call that defines two kernels of one name in one module
/// gives them one key: calling either is a `KernelConflict` error naming
/// the kernel and the site, never a call of the other one. Give them
/// distinct names.
///
/// # Arguments
/// `#[local(crate = "path")]` names the `distarray` crate by another path
/// (for a renamed dependency; `crate = "crate"` inside distarray itself).
///
/// `#[local(undo = false)]` keeps no copies of the `&mut` arrays: no extra
/// memory and no copy per call (an in-place kernel over large pieces runs at
/// the speed of the same loop written by hand), but a call that fails
/// leaves whatever the engines wrote before it failed.
///
/// # Restrictions
/// Kernels are free functions, not generic, not `async`, `const`, `unsafe`
/// or `extern`; parameters are plain identifiers. Do not call a kernel
/// recursively (its name is the client function). A kernel may be defined
/// inside a function body; its client function and type are then local to
/// that body.
///
/// # Equivalent code without the macro
/// `scale` above expands to this (the user's body goes to
/// `__distarray_kernel`):
///
/// ```
/// use distarray::prelude::*;
///
/// pub fn scale(a: &::distarray::__private::DistArray<f64>, k: f64) -> ::distarray::__private::Result<::distarray::__private::DistArray<f64>> {
///     <scale as ::distarray::__private::Kernel>::call((a, k))?.run_array()
/// }
///
/// #[doc(hidden)]
/// #[allow(non_camel_case_types, dead_code)]
/// pub struct scale {}
///
/// const _: () = {
///     fn __distarray_kernel(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
///         a.mapv(|x| x * k)
///     }
///
///     fn __distarray_run(
///         __distarray_inputs: &mut ::distarray::__private::KernelInputs<'_>,
///     ) -> ::distarray::__private::Result<::distarray::__private::KernelOutput> {
///         let __distarray_result = {
///             let (__distarray_args, mut __distarray_arrays, _) = __distarray_inputs.split();
///             let (k,): (f64,) = __distarray_args.decode()?;
///             let a = __distarray_arrays.next_ref::<f64>("a")?;
///             __distarray_kernel(a, k)
///         };
///         ::distarray::__private::output_array(__distarray_inputs, __distarray_result)
///     }
///
///     impl ::distarray::__private::Kernel for scale {
///         const NAME: &'static str = ::core::concat!(::core::module_path!(), "::", "scale");
///         // The expansion gives the file, line and column of `#[local]`.
///         const KEY: &'static str =
///             ::core::concat!(::core::module_path!(), "::", "scale", "@", ::core::file!(), ":", ::core::line!(), ":", ::core::column!());
///         type Args<'a> = (&'a ::distarray::__private::DistArray<f64>, f64);
///         type Output = ::distarray::__private::ReturnsArray<f64>;
///         fn call(__distarray_args: Self::Args<'_>) -> ::distarray::__private::Result<::distarray::__private::KernelCall> {
///             let (a, k) = __distarray_args;
///             ::distarray::__private::KernelCall::new(<Self as ::distarray::__private::Kernel>::KEY)
///                 .array("a", a)?
///                 .args(&(k,))
///         }
///     }
///
///     ::distarray::__private::inventory::submit! {
///         ::distarray::__private::KernelEntry {
///             name: <scale as ::distarray::__private::Kernel>::KEY,
///             dtype: ::core::option::Option::None,
///             run: __distarray_run,
///         }
///     }
/// };
///
/// fn main() -> distarray::Result<()> {
///     let ctx = Context::new()?;
///     let x = ctx.ones::<f64>(&Distribution::from_shape(&ctx, &[5, 3])?)?;
///     assert!(scale(&x, 3.0)?.toarray()?.iter().all(|&v| v == 3.0));
///     Ok(())
/// }
/// ```
///
/// [`Context::apply`]: https://docs.rs/distarray/latest/distarray/struct.Context.html#method.apply
#[proc_macro_attribute]
pub fn local(args: TokenStream, item: TokenStream) -> TokenStream {
    local::local(args.into(), item.into()).into()
}

/// Applies a function of scalars elementwise to DistArrays of one shape and
/// distribution, on the engines; the function also builds arrays from their
/// indices with `Context::fromfunction`.
///
/// Every parameter and the return type must be an element type: `bool`,
/// `i8`–`i64`, `u8`–`u64`, `f32`, `f64`, `Complex<f32>`, `Complex<f64>`.
/// The client function takes `&DistArray<T>` for each parameter and returns
/// `Result<DistArray<R>>`; it fails if the arrays differ in shape or
/// distribution.
///
/// ```
/// use distarray::prelude::*;
/// use distarray::vectorize;
///
/// #[vectorize]
/// fn axpy(a: f64, x: f64, y: f64) -> f64 {
///     a * x + y
/// }
///
/// #[vectorize]
/// fn table(i: f64, j: f64) -> f64 {
///     10.0 * i + j
/// }
///
/// fn main() -> distarray::Result<()> {
///     let ctx = Context::new()?;
///     let d = Distribution::from_shape(&ctx, &[4, 5])?;
///     let t = ctx.fromfunction::<table>(&[4, 5], Some(&d))?;  // t[i, j] = 10 i + j
///     let a = ctx.ones::<f64>(&d)?;
///     let r = axpy(&a, &t, &t)?;                               // 1 t + t
///     assert_eq!(r.toarray()?[[3, 4]], 68.0);
///     Ok(())
/// }
/// ```
///
/// `#[vectorize(crate = "path")]` names the `distarray` crate by another
/// path, as for [`macro@local`]. The restrictions of `#[local]` apply too.
///
/// # Equivalent code without the macro
/// Like [`macro@local`]'s, with an engine body that zips the pieces
///
/// ```text
/// let (_, mut __distarray_arrays, _) = __distarray_inputs.split();
/// let a = __distarray_arrays.next_ref::<f64>("a")?;  // x, y likewise
/// __private::check_same_local_shape(&[("a", a.local_shape()), ("x", ..), ("y", ..)])?;
/// let values: Vec<f64> = __private::collect_values(a.len(), a.iter().zip(x.iter()).zip(y.iter())
///     .map(|((a, x), y)| __distarray_kernel(*a, *x, *y)))?; // a checked collect()
/// __private::local_like(a, values)?
/// ```
///
/// a client function calling `.same_layout()?` before `.run_array()`, and a
/// second registered entry point, `<module>::axpy#index` (key
/// `<module>::axpy#index@<file>:<line>:<column>`, the site as for
/// [`macro@local`]), that computes
/// `__distarray_kernel(<f64 as FromIndex>::from_index(i), ..)` at each global
/// index for `Context::fromfunction` (`impl IndexKernel for axpy`).
#[proc_macro_attribute]
pub fn vectorize(args: TokenStream, item: TokenStream) -> TokenStream {
    vectorize::vectorize(args.into(), item.into()).into()
}
