//! What a kernel gives back on one engine, and the helpers generated code
//! uses to build it (a value, `()`, a local array, a piece from global indices).

use ndarray::{ArrayD, IxDyn};
use serde::Serialize;

use super::inputs::KernelInputs;
use crate::core::alloc::{size_of_shape, Side};
use crate::core::element::{for_each_element, Element};
use crate::core::error::{bail, err, Result};
use crate::engine::local::LocalArray;
use crate::layout::{advance, buffer_indices, local_shape, map_ghost_widths, rank_to_coords, DimDict, Map, MapBase};
use crate::protocol::{encode, KernelReply};

/// A kernel's `()` result.
#[doc(hidden)]
pub fn output_unit(_: ()) -> Result<KernelOutput> {
    Ok(KernelOutput(Out::Unit))
}

/// The `Ok` value of a kernel returning `Result<R, E>`; its `Err` fails the
/// call (a `distarray::Error` as it is, any other error as an `Engine` error
/// with its message).
#[doc(hidden)]
pub fn kernel_result<R, E: std::fmt::Display + 'static>(result: std::result::Result<R, E>) -> Result<R> {
    result.map_err(|e| match (&e as &dyn std::any::Any).downcast_ref::<crate::core::error::Error>() {
        Some(error) => error.clone(),
        None => err!(Engine, "{e}"),
    })
}

/// A kernel's value result, sent back to the client.
#[doc(hidden)]
pub fn output_value<R: Serialize + 'static>(value: &R) -> Result<KernelOutput> {
    Ok(KernelOutput(match crate::protocol::bulk::encode(value) {
        Some(bytes) => Out::Bulk(bytes?),
        None => Out::Value(encode(value)?),
    }))
}

/// A kernel's `LocalArray` result, kept on the engine under the result key.
#[doc(hidden)]
pub fn output_array<T: Element>(inputs: &mut KernelInputs<'_>, array: LocalArray<T>) -> Result<KernelOutput> {
    let reply = KernelReply::Array { dtype: T::DTYPE, dim_data: array.dim_data().to_vec() };
    inputs.result = Some(Box::new(array));
    Ok(KernelOutput(Out::Array(reply)))
}

/// What a kernel produced on one engine (opaque to generated code).
#[doc(hidden)]
pub struct KernelOutput(pub(crate) Out);

pub(crate) enum Out {
    Unit,
    Value(Vec<u8>),
    Bulk(Vec<u8>),
    Array(KernelReply),
}

/// Checks that the local pieces of a `#[vectorize]` call have one shape.
#[doc(hidden)]
pub fn check_same_local_shape(shapes: &[(&str, &[usize])]) -> Result<()> {
    if let Some(((first, shape), rest)) = shapes.split_first().map(|(f, r)| (*f, r)) {
        if let Some((name, other)) = rest.iter().find(|(_, s)| s != &shape) {
            bail!(InvalidShape, "local pieces differ: `{first}` has shape {shape:?}, `{name}` has {other:?}");
        }
    }
    Ok(())
}

/// The `n` values of `values` in a checked allocation: `Err(OutOfMemory)`
/// where `collect()` would abort the process (`#[vectorize]` outputs).
#[doc(hidden)]
pub fn collect_values<T: Element>(n: usize, values: impl Iterator<Item = T>) -> Result<Vec<T>> {
    let mut out = crate::engine::pool::vec(n)?;
    out.extend(values.take(n));
    Ok(out)
}

/// A local array of `values` (in the logical order of `like`) shaped and
/// distributed like `like`.
#[doc(hidden)]
pub fn local_like<T: Element, U: Element>(like: &LocalArray<U>, values: Vec<T>) -> Result<LocalArray<T>> {
    let data = ArrayD::from_shape_vec(IxDyn(like.local_shape()), values).map_err(|e| err!(InvalidShape, "{e}"))?;
    LocalArray::new(data, like.dim_data().to_vec())
}

/// Conversion of a global index into a `#[vectorize]` parameter, for
/// [`Context::fromfunction`](crate::Context::fromfunction).
pub trait FromIndex {
    /// The value of index `i` (`i != 0` for bool, the real part for complex).
    fn from_index(i: usize) -> Self;
}

macro_rules! from_index_as {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl FromIndex for $t {
            fn from_index(i: usize) -> Self { i as $t }
        }
    )*};
}
for_each_element!(int | float => from_index_as {});

impl FromIndex for bool {
    fn from_index(i: usize) -> Self {
        i != 0
    }
}

macro_rules! from_index_real_part {
    ($($t:ty => $d:ident $name:literal,)*) => {$(
        impl FromIndex for $t {
            fn from_index(i: usize) -> Self { <$t>::new(i as _, 0.0) }
        }
    )*};
}
for_each_element!(complex => from_index_real_part {});

/// The fromfunction entry point of a `#[vectorize]` kernel of `arity`
/// parameters: builds this engine's piece by calling `f` on each global index.
#[doc(hidden)]
pub fn output_from_index<T: Element>(
    inputs: &mut KernelInputs<'_>,
    arity: usize,
    f: impl Fn(&[usize]) -> T,
) -> Result<KernelOutput> {
    let ndim = inputs.index_layout.map_or(0, |l| l.maps.len());
    if ndim != arity {
        bail!(InvalidShape, "the function takes {arity} indices but the array has {ndim} axes");
    }
    output_from_global_index(inputs, f)
}

/// Builds this engine's piece of the array being created (the call's index
/// layout) by calling `f` on the global index of each element, in local C
/// order.
pub(crate) fn output_from_global_index<T: Element>(
    inputs: &mut KernelInputs<'_>,
    mut f: impl FnMut(&[usize]) -> T,
) -> Result<KernelOutput> {
    output_from_runs(inputs, |global, len, values| {
        let Some(last) = global.len().checked_sub(1) else {
            values.push(f(&[]));
            return;
        };
        for j in global[last]..global[last] + len {
            global[last] = j;
            values.push(f(global));
        }
    })
}

/// Builds this engine's piece of the array being created (the call's index
/// layout) run by run: `run(global, len, values)` pushes the values of the
/// `len` elements from global index `global` on along the last axis
/// (consecutive there, and in local C order; `run` may change `global`); a
/// 0-d array is one run of one element at `[]`. A block piece's row is one
/// run, so a caller can fill it in whole groups instead of element by
/// element.
pub(crate) fn output_from_runs<T: Element>(
    inputs: &mut KernelInputs<'_>,
    mut run: impl FnMut(&mut [usize], usize, &mut Vec<T>),
) -> Result<KernelOutput> {
    let Some(layout) = inputs.index_layout else {
        bail!(Protocol, "an array-building kernel was called without a layout");
    };
    layout.check()?;
    let rank = inputs.engine.rank();
    let grid_shape: Vec<usize> = layout.maps.iter().map(MapBase::grid_size).collect();
    let coords = rank_to_coords(rank, &grid_shape);
    let dim_data: Vec<DimDict> = layout.maps.iter().zip(&coords).map(|(m, &c)| m.dimdict(c)).collect();
    // The buffer: ghost cells get the value of the cell they copy, so a new
    // array's halos start filled.
    let shape = local_shape(&dim_data);
    // The elements first, then the index lists (each as long as its axis
    // piece): both are checked allocations, so a piece too big for the
    // engine is `Err(OutOfMemory)`.
    let mut values = crate::engine::pool::vec(size_of_shape(&shape)?)?;
    let Some((inner_map, outer_maps)) = layout.maps.split_last() else {
        run(&mut [], 1, &mut values); // a 0-d array has one element
        let data = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| err!(InvalidShape, "{e}"))?;
        return output_array(inputs, LocalArray::new(data, dim_data)?);
    };
    if !shape.contains(&0) {
        let indices = |m: &Map, c: usize| match map_ghost_widths(m, c) {
            (0, 0) => Side::Engine.global_indices(m, c),
            _ => Ok(buffer_indices(m, c)),
        };
        let outer: Vec<Vec<usize>> =
            outer_maps.iter().zip(&coords).map(|(m, &c)| indices(m, c)).collect::<Result<_>>()?;
        let inner_coord = coords[outer.len()];
        // The last axis' runs of consecutive global indices: one for a block
        // piece, computed without listing its indices.
        let runs: Vec<(usize, usize)> =
            match (map_ghost_widths(inner_map, inner_coord), inner_map.contiguous_range(inner_coord)) {
                ((0, 0), Some(range)) => vec![(range.start, range.len())],
                _ => consecutive_runs(&indices(inner_map, inner_coord)?),
            };
        // Walk the piece row by row: an odometer over the outer axes.
        let lengths: Vec<usize> = outer.iter().map(Vec::len).collect();
        let mut counter = vec![0usize; outer.len()];
        let mut global = vec![0usize; outer.len() + 1];
        loop {
            for (g, (idx, &c)) in global.iter_mut().zip(outer.iter().zip(&counter)) {
                *g = idx[c];
            }
            for &(start, len) in &runs {
                global[outer.len()] = start;
                run(&mut global, len, &mut values);
            }
            if !advance(&mut counter, &lengths) {
                break;
            }
        }
    }
    let data = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| err!(InvalidShape, "{e}"))?;
    output_array(inputs, LocalArray::new(data, dim_data)?)
}

/// `indices` as runs `(first, length)` of consecutive ascending values.
fn consecutive_runs(indices: &[usize]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &i in indices {
        match runs.last_mut() {
            Some((start, len)) if *start + *len == i => *len += 1,
            _ => runs.push((i, 1)),
        }
    }
    runs
}
