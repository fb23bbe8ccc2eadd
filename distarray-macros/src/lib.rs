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
mod scope;
mod signature;
mod stencil;
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
///   takes `&mut DistArray<T>`). Write the type itself: the macro recognises
///   arrays by it and cannot see through a type alias.
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
/// `Result<Vec<R>>`, one value per engine in engine order. Values that are
/// `Vec<T>` or ndarray arrays of an element type travel as raw bytes; other
/// values through serde.
///
/// # Fallible kernels
/// A kernel returning `Result<X, E>` (any `E: Display`, e.g.
/// `distarray::Result<X>`) gives what one returning `X` gives. An `Err` on
/// any engine (or a panic) fails the call with an `Err` naming the kernel,
/// the engine and the error's `Display` text; a `distarray::Error` keeps its
/// kind, others are `ErrorKind::Engine`. When several engines fail, the
/// error is the first one's and [`Error::others`] holds the rest. The
/// engines keep running, and the call changes nothing (below).
///
/// ```
/// use distarray::prelude::*;
/// use distarray::local;
///
/// #[local]
/// fn checked_sqrt(a: &LocalArray<f64>) -> Result<LocalArray<f64>, String> {
///     match a.iter().find(|&&x| x < 0.0) {
///         Some(x) => Err(format!("cannot take the square root of {x}")),
///         None => Ok(a.mapv(f64::sqrt)),
///     }
/// }
///
/// fn main() -> distarray::Result<()> {
///     let ctx = Context::new()?;
///     let x = ctx.fromarray(&ndarray::arr1(&[4.0, 9.0, -1.0, 16.0]), None)?;
///     let e = checked_sqrt(&x).unwrap_err();
///     assert!(e.message().contains("checked_sqrt") && e.message().contains("square root of -1"), "{e}");
///     assert_eq!(x.toarray()?, ndarray::arr1(&[4.0, 9.0, -1.0, 16.0]).into_dyn());
///     Ok(())
/// }
/// ```
///
/// # The body, callable
/// The macro keeps the function: the type of the kernel's name has an
/// associated fn `body` with the function's signature and body, for unit
/// tests on a [`LocalArray::from_ndarray`] and for other kernels, which call
/// `other::body(..)` (calling `other(..)`, the client function, inside a
/// kernel is a compile error saying so). Inside the body, the kernel's own
/// name is the body: recursion stays on the engine.
///
/// ```
/// use distarray::prelude::*;
/// use distarray::local;
///
/// #[local]
/// fn scale(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
///     a.mapv(|x| x * k)
/// }
///
/// /// Another kernel's body, called from a kernel.
/// #[local]
/// fn scaled_max(a: &LocalArray<f64>, k: f64) -> f64 {
///     scale::body(a, k).fold(f64::NEG_INFINITY, |m, &x| m.max(x))
/// }
///
/// /// `n!` by recursion, on each engine.
/// #[local]
/// fn factorial(n: u64) -> u64 {
///     if n <= 1 { 1 } else { n * factorial(n - 1) }
/// }
///
/// // A unit test, no engines involved:
/// let piece = LocalArray::from_ndarray(ndarray::arr2(&[[1.0, -2.0], [3.0, 0.5]]));
/// assert_eq!(scale::body(&piece, 2.0).ndarray(), &ndarray::arr2(&[[2.0, -4.0], [6.0, 1.0]]).into_dyn());
/// assert_eq!(scaled_max::body(&piece, 2.0), 6.0);
/// assert_eq!(factorial::body(5), 120);
/// ```
///
/// # Generic kernels
/// `#[local(types(f32, f64))]` on a function of one type parameter registers
/// one kernel per listed type (key `module::name::<f32>@site`); the client
/// function is generic over exactly those types, and another type is a
/// compile error naming the kernel and the types. `Context::apply` takes the
/// kernel by type: `ctx.apply::<scale<f32>>(..)`.
///
/// ```
/// use distarray::prelude::*;
/// use distarray::local;
///
/// #[local(types(f32, f64))]
/// fn scale<T: Element + std::ops::Mul<Output = T>>(a: &LocalArray<T>, k: T) -> LocalArray<T> {
///     a.mapv(|x| x * k)
/// }
///
/// fn main() -> distarray::Result<()> {
///     let ctx = Context::new()?;
///     let d = Distribution::from_shape(&ctx, &[6])?;
///     let x = ctx.ones::<f32>(&d)?;
///     assert!(scale(&x, 3.0)?.toarray()?.iter().all(|&v| v == 3.0));
///     let y = ctx.ones::<f64>(&d)?;
///     assert_eq!(ctx.apply::<scale<f64>>((&y, 2.0), None)?.len(), y.targets().len());
///     Ok(())
/// }
/// ```
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
/// [`Error::others`]: https://docs.rs/distarray/latest/distarray/struct.Error.html#method.others
/// [`LocalArray::from_ndarray`]: https://docs.rs/distarray/latest/distarray/struct.LocalArray.html#method.from_ndarray
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
/// `#[local(types(T1, T2, ..))]` registers a generic kernel for these types
/// (above).
///
/// `#[local(undo = false)]` keeps no copies of the `&mut` arrays: no extra
/// memory and no copy per call (an in-place kernel over large pieces runs at
/// the speed of the same loop written by hand), but a call that fails
/// leaves whatever the engines wrote before it failed.
///
/// # Restrictions
/// Kernels are free functions at module level (not associated fns of an
/// `impl` block or a trait: the attribute looks for an enclosing block in
/// the source file and says so in one error), not `async`, `const`, `unsafe` or `extern`, generic only
/// with `types(..)`; parameters are plain identifiers, arrays are not
/// optional. A kernel may be defined inside a function body; its client
/// function and type are then local to that body.
///
/// # Equivalent code without the macro
/// `scale` of the first example expands to this (the codec of each scalar is
/// found by a probe that makes a type that is not serializable one error at
/// the parameter):
///
/// ```
/// use distarray::prelude::*;
///
/// pub fn scale<'__distarray_a>(
///     a: impl ::distarray::__private::ArrayArg<'__distarray_a, f64, scale>,
///     k: f64,
/// ) -> ::distarray::__private::Result<::distarray::__private::DistArray<f64>> {
///     let a = ::distarray::__private::ArrayArg::array(a);
///     <scale as ::distarray::__private::Kernel>::call((a, k))?.run_array()
/// }
///
/// #[doc(hidden)]
/// #[allow(non_camel_case_types, dead_code)]
/// pub struct scale {}
///
/// const _: () = {
///     impl scale {
///         /// The body of kernel `scale` as written, to call on local arrays.
///         pub fn body(a: &LocalArray<f64>, k: f64) -> LocalArray<f64> {
///             #[allow(unused_variables)]
///             let scale = Self::body; // recursion reaches the body
///             a.mapv(|x| x * k)
///         }
///     }
///
///     fn codec() -> ::distarray::__private::ScalarCodec<f64> {
///         #[allow(unused_imports)] // the probe needs whichever applies
///         use ::distarray::__private::{ProbeAlias as _, ProbeCodec as _, ProbeFallback as _};
///         let probe = (&&::distarray::__private::Probe::<f64>::new()).probe();
///         ::distarray::__private::not_an_array(&probe);
///         ::distarray::__private::scalar_codec(probe)
///     }
///
///     fn __distarray_run(
///         __distarray_inputs: &mut ::distarray::__private::KernelInputs<'_>,
///     ) -> ::distarray::__private::Result<::distarray::__private::KernelOutput> {
///         let __distarray_result = {
///             let (mut __distarray_args, mut __distarray_arrays, _) = __distarray_inputs.split();
///             let k: f64 = __distarray_args.next(&codec(), "k")?;
///             let a = __distarray_arrays.next_ref::<f64>("a")?;
///             scale::body(a, k)
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
///             let call = ::distarray::__private::KernelCall::new(<Self as ::distarray::__private::Kernel>::KEY);
///             let call = call.array("a", a)?;
///             let call = call.arg(&codec(), &k)?;
///             Ok(call)
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
/// A generic kernel expands to a type `scale<T>`, one `Kernel` impl and
/// entry point per listed type (`scale<f32>`, `scale<f64>`), a hidden trait
/// implemented for exactly those types (with a `#[diagnostic::on_unimplemented]`
/// message), and a client function generic over it.
///
/// [`Context::apply`]: https://docs.rs/distarray/latest/distarray/struct.Context.html#method.apply
#[proc_macro_attribute]
pub fn local(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_free_fn("local", args, item, local::local)
}

/// Applies a function of scalars elementwise to DistArrays of one shape and
/// distribution, on the engines; the function also builds arrays from their
/// indices with `Context::fromfunction`.
///
/// Every parameter and the return type must be an element type: `bool`,
/// `i8`–`i64`, `u8`–`u64`, `f32`, `f64`, `Complex<f32>`, `Complex<f64>`.
/// The client function takes, for each parameter, a `&DistArray<T>` or a
/// scalar `T` applied to every element (sent as an argument, never made into
/// an array), at least one of them an array, and returns
/// `Result<DistArray<R>>`, laid out as the arrays; it fails if the arrays
/// differ in shape or distribution, or if all arguments are scalars.
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
///     let s = axpy(2.0, &t, 1.0)?;                             // scalars broadcast
///     assert_eq!(s.toarray()?[[3, 4]], 69.0);
///     Ok(())
/// }
/// ```
///
/// `#[vectorize(crate = "path")]` names the `distarray` crate by another
/// path, and `#[vectorize(types(f32, f64))]` registers a generic function
/// for each listed element type, as for [`macro@local`]; the body is callable
/// as `axpy::body(2.0, 1.0, 0.5)`. The restrictions of `#[local]` apply too.
///
/// # Equivalent code without the macro
/// Like [`macro@local`]'s; the client function sends each argument as an
/// array or as `Some(scalar)` in a tuple of `Option`s, and calls
/// `.needs_array()?.same_layout()?` before `.run_array()`; the engine body is
///
/// ```text
/// let (a, x, y): (Option<f64>, Option<f64>, Option<f64>) = __distarray_args.decode()?;
/// let a = LocalOperand::take(a, &mut __distarray_arrays, "a")?;  // x, y likewise
/// let layout = __private::operand_layout(&[("a", a.layout()), ..])?; // one local shape
/// let values: Vec<f64> = match (a.lane(n), x.lane(n), y.lane(n)) {
///     // Contiguous pieces: one indexed loop per mix of slices and scalars
///     // (up to 4 parameters), which the compiler vectorises.
///     (Some(a), Some(x), Some(y)) => match a { Lane::Slice(a) => match x { .. (0..n).map(|i| axpy::body(a[i], x, y[i])) .. } },
///     _ => collect_values(n, a.iter().zip(x.iter()).zip(y.iter()).map(|((a, x), y)| axpy::body(a, x, y)))?,
/// };
/// __private::local_from_values(layout, values)?
/// ```
///
/// and a
/// second registered entry point, `<module>::axpy#index` (key
/// `<module>::axpy#index@<file>:<line>:<column>`, the site as for
/// [`macro@local`]), that computes
/// `axpy::body(<f64 as FromIndex>::from_index(i), ..)` at each global
/// index for `Context::fromfunction` (`impl IndexKernel for axpy`).
#[proc_macro_attribute]
pub fn vectorize(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_free_fn("vectorize", args, item, vectorize::vectorize)
}

/// The update of one point of a grid from its neighbourhood, applied over an
/// array with ghost cells: a kernel that exchanges the input's ghost cells,
/// then writes the function of every cell's neighbourhood into an existing
/// output in one pass.
///
/// ```
/// use distarray::prelude::*;
///
/// /// One explicit step of the 2-D heat equation.
/// #[stencil(radius = 1)]
/// fn heat(u: &Neighbourhood<f64>, alpha: f64) -> f64 {
///     u[[0, 0]] + alpha * (u[[-1, 0]] + u[[1, 0]] + u[[0, -1]] + u[[0, 1]] - 4.0 * u[[0, 0]])
/// }
///
/// fn main() -> distarray::Result<()> {
///     let ctx = Context::new()?;
///     let d = Distribution::builder(&ctx, &[32, 16]).dist("bb").halo(&[1, 1]).build()?;
///     let mut u = ctx.fromarray(&ndarray::Array2::from_shape_fn((32, 16), |(i, _)| if i == 0 { 1.0 } else { 0.0 }), Some(&d))?;
///     let mut next = ctx.zeros::<f64>(&d)?;
///     for _ in 0..10 {
///         heat(&mut u, &mut next, 0.2)?;   // exchange, then one pass into `next`
///         std::mem::swap(&mut u, &mut next);
///     }
///     assert!(u.toarray()?[[1, 5]] > 0.0);
///     Ok(())
/// }
/// ```
///
/// The function takes the point's [`Neighbourhood`] first (`u[[di, dj]]`
/// is the cell `di` rows and `dj` columns away, offsets up to `radius`),
/// then any scalars, and returns the point's new value. The generated
/// client function is `heat(&mut u, &mut out, alpha) -> Result<()>`: `u`'s
/// ghost cells are exchanged, every cell of `out` whose neighbourhood lies
/// in the array gets the function's value, and the other own cells of `out`
/// (within `radius` of the edge of an axis that is not periodic: the
/// boundary) get `u`'s. Both arrays must have one distribution, with a halo
/// of at least `radius` on every distributed axis. `heat::point` is the
/// function as written, for unit tests. Inside a kernel's time loop, use
/// `LocalArray::apply_stencil` with the same closure.
///
/// # Arguments
/// - `radius = N` (required): the largest offset the update reads.
/// - `crate = "path"`: as for [`macro@local`].
///
/// [`Neighbourhood`]: https://docs.rs/distarray/latest/distarray/struct.Neighbourhood.html
#[proc_macro_attribute]
pub fn stencil(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_free_fn("stencil", args, item, stencil::stencil)
}

/// Runs `expand` on a kernel attribute's input, unless the attribute sits in
/// an `impl` or `trait` block, which gets one error saying so instead of
/// rustc's errors about the generated items.
fn expand_free_fn(
    attribute: &str,
    args: TokenStream,
    item: TokenStream,
    expand: fn(proc_macro2::TokenStream, proc_macro2::TokenStream) -> proc_macro2::TokenStream,
) -> TokenStream {
    let item = item.into();
    match scope::refuse_associated(attribute, proc_macro::Span::call_site(), &item) {
        Some(error) => error.into(),
        None => expand(args.into(), item).into(),
    }
}
