//! The engine side of reductions: internal kernels, one per operation and
//! element type, that reduce the local piece and combine the partial results
//! between engines through the communicator (never on the client).

use ndarray::{ArrayD, IxDyn};
use num_complex::Complex;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

mod acc;

use crate::core::alloc::{size_of_shape, Side};
use crate::core::element::{for_each_element, DType, Element};
use crate::core::error::{bail, Result};
use crate::engine::comm::{Collectives, Comm};
use crate::engine::kernel::{
    output_array, output_unit, output_value, register_internal, InternalKernel, KernelInputs, KernelOutput,
};
use crate::engine::local::LocalArray;
use crate::layout::{coords_to_rank, DimDict};
use crate::protocol::{decode, encode};
pub(crate) use acc::Finish;
use acc::{Acc, Extreme, MeanOf, Stat, StdOf, Sum, VarOf};
pub use acc::{OrdElem, SumElem, Widen};

/// A reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ReduceOp {
    Sum,
    Min,
    Max,
    Mean,
    Var,
    Std,
}

impl ReduceOp {
    /// The numpy name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Mean => "mean",
            ReduceOp::Var => "var",
            ReduceOp::Std => "std",
        }
    }
}

/// What the client asks of the reduction kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReduceArgs {
    pub op: ReduceOp,
    /// `None`: every axis, giving one value; else the axes to remove.
    pub axes: Option<Vec<usize>>,
    pub finish: Finish,
    /// The accumulator type of `sum` (`dtype` in numpy).
    pub into: DType,
}

/// Every reduction, for every element type (the op travels in the arguments).
pub(crate) const REDUCE: InternalKernel = InternalKernel::new("distarray::reduce");

enum Reduced<O> {
    Value(O),
    /// A whole-array reduction on an engine other than rank 0, which holds
    /// the value.
    Partial,
    Piece(LocalArray<O>),
    NotOwner,
}

/// Runs the reduction `A` over this engine's piece of the array argument.
fn run<T: Element, A: Acc<T>>(inputs: &mut KernelInputs<'_>, args: &ReduceArgs) -> Result<KernelOutput> {
    let reduced = {
        let (_, mut arrays, engine) = inputs.split();
        let a = arrays.next_ref::<T>("a")?;
        match &args.axes {
            None => match reduce_all::<T, A>(a, &args.finish, engine.comm())? {
                Some(v) => Reduced::Value(v),
                None => Reduced::Partial,
            },
            Some(axes) => match reduce_axes::<T, A>(a, axes, &args.finish, engine.comm())? {
                Some(piece) => Reduced::Piece(piece),
                None => Reduced::NotOwner,
            },
        }
    };
    match reduced {
        Reduced::Value(v) => output_value(&v),
        Reduced::Piece(p) => output_array(inputs, p),
        Reduced::Partial | Reduced::NotOwner => output_unit(()),
    }
}

/// Every element: local partial, then a reduction to one engine, which alone
/// returns the value (the client needs it once: a broadcast back would double
/// the steps). `None` on the other engines.
fn reduce_all<T: Element, A: Acc<T>>(a: &LocalArray<T>, finish: &Finish, comm: &dyn Comm) -> Result<Option<A::Out>> {
    let mut acc = A::empty();
    // The piece's own cells: its ghost cells are copies of others'.
    let a = a.interior();
    // Memory order is fine: the order of a whole-array reduction is free.
    match a.as_slice_memory_order() {
        Some(values) => acc.push_slice(values),
        None => a.iter().for_each(|&x| acc.push(x)),
    }
    match reduce_to_one(comm, acc)? {
        Some(total) => total.finish(finish).map(Some),
        None => Ok(None),
    }
}

/// Up to this many engines gather their partials on one engine in one hop
/// ([`Comm::gather_to_one_bytes`]), where the tree takes `ceil(log2(P))`
/// hops in sequence, each a wake-up of a parked engine.
const DIRECT_MAX: usize = 64;

/// The partials of every engine merged on one engine, in an order fixed by
/// the engine count alone (lower ranks first, pairwise: `((p0, p1), (p2,
/// p3))` for 4, the order of [`Collectives::all_reduce`]), so the same pieces
/// give the same bits every time, whichever path carries them: up to
/// [`DIRECT_MAX`] engines a gather to one engine (rank 0 under MPI; on thread
/// engines the last to arrive, so that none waits), else
/// [`Collectives::reduce`]'s binomial tree to rank 0 in `ceil(log2(P))`
/// steps (where an all-gather took P messages from each of P engines).
fn reduce_to_one<T, A: Acc<T>>(comm: &dyn Comm, acc: A) -> Result<Option<A>> {
    merge_to_one(comm, acc, DIRECT_MAX, |low, high| low.merge(high))
}

/// [`reduce_to_one`] for any value and merge, with the direct-send limit as
/// a parameter (so both paths can be tested against each other).
pub(crate) fn merge_to_one<V: Serialize + DeserializeOwned + Clone>(
    comm: &dyn Comm,
    value: V,
    direct_max: usize,
    mut merge: impl FnMut(&mut V, &V),
) -> Result<Option<V>> {
    if comm.size() <= direct_max {
        let Some(parts) = comm.gather_to_one_bytes(encode(&value)?)? else { return Ok(None) };
        let mut partials = parts.iter().map(|p| decode(p)).collect::<Result<Vec<V>>>()?;
        let size = partials.len();
        // The tree's merges, in its order.
        let mut step = 1;
        while step < size {
            for low in (0..size - step).step_by(2 * step) {
                let high = partials[low + step].clone();
                merge(&mut partials[low], &high);
            }
            step *= 2;
        }
        return Ok(partials.into_iter().next());
    }
    comm.reduce(0, value, |mut low, high| {
        merge(&mut low, &high);
        low
    })
}

/// Along `axes`: each engine reduces its piece along them, then sends its
/// partial result to the engine at grid coordinate 0 along those axes (the
/// rank that `Distribution::reduce` keeps), which merges and finishes them.
/// Returns the result piece on those engines, `None` on the others.
fn reduce_axes<T: Element, A: Acc<T>>(
    a: &LocalArray<T>,
    axes: &[usize],
    finish: &Finish,
    comm: &dyn Comm,
) -> Result<Option<LocalArray<A::Out>>> {
    let dims = a.dim_data();
    let ndim = dims.len();
    if let Some(&bad) = axes.iter().find(|&&ax| ax >= ndim) {
        bail!(InvalidShape, "axis {bad} is out of range for an array with {ndim} axes");
    }
    let reduced: Vec<bool> = (0..ndim).map(|ax| axes.contains(&ax)).collect();
    let grid: Vec<usize> = dims.iter().map(DimDict::proc_grid_size).collect();
    let coords: Vec<usize> = dims.iter().map(DimDict::proc_grid_rank).collect();
    let owner_coords: Vec<usize> = coords.iter().zip(&reduced).map(|(&c, &r)| if r { 0 } else { c }).collect();
    let owner = coords_to_rank(&owner_coords, &grid);
    // No reduced axis split between engines: every engine holds whole lanes,
    // so its piece reduces to its result piece with nothing to exchange (the
    // same on every engine, so all skip the collective).
    let whole_lanes = reduced.iter().zip(&grid).all(|(&r, &g)| !r || g == 1);
    let out_dims =
        || -> Vec<DimDict> { dims.iter().zip(&reduced).filter(|(_, &r)| !r).map(|(d, _)| d.clone()).collect() };

    let shape = a.local_shape().to_vec();
    let out_shape: Vec<usize> = shape.iter().zip(&reduced).filter(|(_, &r)| !r).map(|(&n, _)| n).collect();
    let values = Side::Engine.standard(a.view())?;
    let first_reduced = reduced.iter().position(|&r| r);
    if let Some(first) = first_reduced.filter(|&f| whole_lanes && reduced[f..].iter().all(|&r| r)) {
        // Only trailing axes reduced, none split: each result element is one
        // contiguous run of the piece, folded and finished at once, without a
        // partial accumulator per element (as the general path would: one
        // `push_run` into an empty one, then `finish`).
        let lane: usize = shape[first..].iter().product();
        if lane > 0 {
            let mut out = Side::Engine.vec(size_of_shape(&out_shape)?)?;
            for run in values.chunks_exact(lane) {
                let mut acc = A::empty();
                acc.push_run(run);
                out.push(acc.finish(finish)?);
            }
            return finished(out, &out_shape, out_dims()).map(Some);
        }
    }
    // Partial result over the kept axes, in C order. The piece is walked row
    // by row (rows along the last axis, contiguous in C order): an odometer
    // over the outer axes gives each row's offset into the partial result,
    // which then advances by one per element if the last axis is kept. The
    // kept axes after the last reduced one are contiguous in the piece and in
    // the partial result alike, so they are walked as one (longer rows).
    let (walk, walk_reduced) = match reduced.iter().rposition(|&r| r) {
        Some(last) if last + 1 < ndim => {
            let inner: usize = shape[last + 1..].iter().product();
            ([&shape[..=last], &[inner]].concat(), [&reduced[..=last], &[false]].concat())
        }
        _ => (shape, reduced.clone()),
    };
    let mut out_strides = vec![0usize; walk.len()];
    let mut stride = 1;
    for ax in (0..walk.len()).rev() {
        if !walk_reduced[ax] {
            out_strides[ax] = stride;
            stride *= walk[ax];
        }
    }
    let mut partial = Side::Engine.filled(size_of_shape(&out_shape)?, A::empty())?;
    if ndim == 0 {
        values.iter().for_each(|&x| partial[0].push(x)); // the one element of a 0-d piece
    } else if let Some((&row_len, outer)) = walk.split_last() {
        let last_kept = !walk_reduced[walk.len() - 1];
        let mut counter = vec![0usize; outer.len()];
        let mut offset = 0usize;
        // Consecutive rows with the same offset (the axes between them are
        // reduced) are folded as one run: `push_rows` of rows into the kept
        // last axis, or `push_run` of the elements into one partial.
        let rows = values.len().checked_div(row_len).unwrap_or(0);
        let mut run_start = 0;
        for r in 0..rows {
            let run_offset = offset;
            for ax in (0..outer.len()).rev() {
                counter[ax] += 1;
                offset += out_strides[ax];
                if counter[ax] < walk[ax] {
                    break;
                }
                offset -= out_strides[ax] * walk[ax];
                counter[ax] = 0;
            }
            if r + 1 < rows && offset == run_offset {
                continue;
            }
            let run = &values[run_start * row_len..(r + 1) * row_len];
            run_start = r + 1;
            if last_kept {
                A::push_rows(&mut partial[run_offset..run_offset + row_len], run);
            } else {
                partial[run_offset].push_run(run);
            }
        }
    }

    // The owner keeps its own partial result (no copy to itself) and merges
    // the others' into it.
    let is_owner = coords == owner_coords;
    let received = if whole_lanes {
        Vec::new()
    } else {
        let mut send = vec![Vec::new(); comm.size()];
        if !is_owner {
            // Varints take at most 10 bytes per 8: a checked buffer of that bound.
            send[owner] = Side::Engine.encode(
                &partial,
                partial.len().saturating_mul(std::mem::size_of::<A>() * 5 / 4 + 2).saturating_add(16),
            )?;
        }
        comm.all_to_all_bytes(send)?
    };
    if !is_owner {
        return Ok(None);
    }
    let mut total = partial;
    for bytes in received.iter().filter(|b| !b.is_empty()) {
        let part: Vec<A> = decode(bytes)?;
        if part.len() != total.len() {
            bail!(Protocol, "a partial reduction of {} elements where {} were expected", part.len(), total.len());
        }
        for (t, p) in total.iter_mut().zip(&part) {
            t.merge(p);
        }
    }
    let mut values = Side::Engine.vec(total.len())?;
    for t in &total {
        values.push(t.finish(finish)?);
    }
    finished(values, &out_shape, out_dims()).map(Some)
}

/// The result piece of `shape` from its values in C order.
fn finished<O: Element>(values: Vec<O>, shape: &[usize], dims: Vec<DimDict>) -> Result<LocalArray<O>> {
    let data =
        ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| crate::core::error::err!(InvalidShape, "{e}"))?;
    LocalArray::new(data, dims)
}

/// The reductions of bool and real elements.
fn run_real<T: WidenToReals + OrdElem>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput> {
    let args: ReduceArgs = inputs.split().0.decode()?;
    match args.op {
        ReduceOp::Sum => sum_real::<T>(inputs, &args),
        ReduceOp::Min => run::<T, Extreme<T, false>>(inputs, &args),
        ReduceOp::Max => run::<T, Extreme<T, true>>(inputs, &args),
        ReduceOp::Mean => run::<T, Stat<MeanOf>>(inputs, &args),
        ReduceOp::Var => run::<T, Stat<VarOf>>(inputs, &args),
        ReduceOp::Std => run::<T, Stat<StdOf>>(inputs, &args),
    }
}

/// The reductions of complex elements: `sum` only (the client's bounds allow
/// no other).
fn run_complex<T>(inputs: &mut KernelInputs<'_>) -> Result<KernelOutput>
where
    T: Widen<Complex<f64>> + Widen<T> + acc::SumElem,
{
    let args: ReduceArgs = inputs.split().0.decode()?;
    match (args.op, args.into) {
        (ReduceOp::Sum, DType::C128) => run::<T, Sum<Complex<f64>>>(inputs, &args),
        (ReduceOp::Sum, d) if d == T::DTYPE => run::<T, Sum<T>>(inputs, &args),
        (ReduceOp::Sum, other) => bail!(DTypeMismatch, "cannot sum {} into {other}", T::DTYPE),
        (op, _) => bail!(Unsupported, "`{}` of {} is not supported", op.name(), T::DTYPE),
    }
}

/// `sum` of bool and real elements into any real accumulator type (numpy's
/// `dtype`): a bound and a match over the real element types.
macro_rules! real_sums {
    ($($t:ty => $d:ident $name:literal,)*) => {
        /// Element types that widen into every real accumulator type.
        trait WidenToReals: $(Widen<$t> +)* Element {}
        impl<T: $(Widen<$t> +)* Element> WidenToReals for T {}

        /// `sum` into the accumulator type the call names.
        fn sum_real<T: WidenToReals>(inputs: &mut KernelInputs<'_>, args: &ReduceArgs) -> Result<KernelOutput> {
            match args.into {
                $(DType::$d => run::<T, Sum<$t>>(inputs, args),)*
                other => bail!(DTypeMismatch, "cannot sum {} into {other}", T::DTYPE),
            }
        }
    };
}
for_each_element!(int | float => real_sums {});

register_internal!(REDUCE, bool | int | float => run_real, complex => run_complex);
