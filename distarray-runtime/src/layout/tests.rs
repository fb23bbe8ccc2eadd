//! Unit tests of dim data, 1-D maps and grid shapes.

use super::{dim_data::*, grid::*, maps::*};
use crate::core::error::ErrorKind;

/// Every map this file knows how to build for `size` over `p` grid ranks.
fn all_maps(size: usize, p: usize) -> Vec<Map> {
    let mut maps = vec![Map::Block(BlockMap::new(size, p).unwrap())];
    for bs in 1..=3 {
        maps.push(Map::BlockCyclic(BlockCyclicMap::new(size, p, bs).unwrap()));
    }
    if p == 1 {
        maps.push(Map::NoDist(NoDistMap::new(size, p).unwrap()));
    }
    maps.push(Map::Unstructured(UnstructuredMap::new(size, p, None).unwrap()));
    // Round-robin, stored in descending order: local order differs from global.
    let mut custom = vec![Vec::new(); p];
    for i in (0..size).rev() {
        custom[(i * 7 + 3) % p].push(i);
    }
    maps.push(Map::Unstructured(UnstructuredMap::new(size, p, Some(custom)).unwrap()));
    maps
}

fn kind<T: std::fmt::Debug>(r: crate::core::error::Result<T>) -> ErrorKind {
    r.expect_err("expected an error").kind()
}

/// Checks the invariants that every map must satisfy.
fn check_map(m: &Map) {
    let (size, p) = (m.size(), m.grid_size());
    let ctx = format!("{m:?}");
    let total: usize = (0..p).map(|r| m.local_size(r)).sum();
    assert_eq!(total, size, "{ctx}");

    // Brute-force owner table from global_indices; every index exactly once.
    let mut owner = vec![None; size];
    for r in 0..p {
        let gi = m.global_indices(r);
        assert_eq!(gi.len(), m.local_size(r), "{ctx} rank {r}");
        for &i in &gi {
            assert!(i < size, "{ctx}: index {i} out of range");
            assert!(owner[i].is_none(), "{ctx}: index {i} owned twice");
            owner[i] = Some(r);
        }
        match m.contiguous_range(r) {
            Some(range) => {
                if gi.is_empty() {
                    assert!(range.is_empty(), "{ctx} rank {r}");
                } else {
                    assert_eq!(range.collect::<Vec<_>>(), gi, "{ctx} rank {r}");
                }
            }
            None => {
                let consecutive = gi.windows(2).all(|w| w[0] + 1 == w[1]);
                assert!(!consecutive, "{ctx} rank {r}: contiguous indices {gi:?} but no range");
            }
        }
        if matches!(m, Map::Block(_) | Map::NoDist(_)) {
            assert!(m.contiguous_range(r).is_some(), "{ctx} rank {r}");
        }
    }
    // Ranks outside the grid own nothing and do not panic.
    assert_eq!(m.local_size(p), 0);
    assert!(m.global_indices(p).is_empty());
    assert!(m.contiguous_range(p).is_none());

    for (i, o) in owner.iter().enumerate() {
        let o = o.unwrap_or_else(|| panic!("{ctx}: index {i} owned by nobody"));
        let owners = m.owners(i).unwrap();
        assert!(owners.contains(&o), "{ctx}: owners({i}) = {owners:?} misses {o}");
        // Every map here is one-to-one, so the owner is known exactly.
        assert_eq!(owners, vec![o], "{ctx}: owners({i})");
    }
    assert_eq!(kind(m.owners(size)), ErrorKind::IndexOutOfBounds, "{ctx}");
    assert_eq!(kind(m.owners(usize::MAX)), ErrorKind::IndexOutOfBounds, "{ctx}");

    // Dim dicts round trip, also repeated and shuffled as other axes make them.
    let dicts = m.get_dimdicts();
    assert_eq!(dicts.len(), p, "{ctx}");
    for (r, d) in dicts.iter().enumerate() {
        assert_eq!(*d, m.dimdict(r));
        assert_eq!(d.proc_grid_rank(), r);
        assert_eq!(d.proc_grid_size(), p);
        assert_eq!(d.size(), size);
        assert_eq!(d.dist_type(), m.dist().letter());
    }
    assert_eq!(Map::from_axis_dim_dicts(&dicts).unwrap(), *m, "{ctx}");
    assert_eq!(m.dist().from_axis_dim_dicts(&dicts).unwrap(), *m, "{ctx}");
    let mut repeated: Vec<DimDict> =
        dicts.iter().rev().chain(dicts.iter()).chain(dicts.iter().rev()).cloned().collect();
    repeated.rotate_left(1);
    assert_eq!(Map::from_axis_dim_dicts(&repeated).unwrap(), *m, "{ctx}");

    let g = m.global_dim_dict();
    assert_eq!(map_from_global_dim_dict(&g).unwrap(), *m, "{ctx}");
    assert_eq!(m.dist().from_global_dim_dict(&g).unwrap(), *m, "{ctx}");
    assert_eq!(map_from_sizes(size, m.dist(), p).unwrap().dist(), m.dist());

    assert!(m.is_compatible(&m.clone()));
    let bytes = postcard::to_stdvec(m).unwrap();
    assert_eq!(postcard::from_bytes::<Map>(&bytes).unwrap(), *m, "{ctx}");
}

#[test]
fn all_maps_all_small_sizes() {
    for size in 0..=13 {
        for p in 1..=5 {
            for m in all_maps(size, p) {
                check_map(&m);
            }
        }
    }
}

#[test]
fn block_default_layout() {
    let sizes = |m: &BlockMap| (0..m.grid_size()).map(|r| m.local_size(r)).collect::<Vec<_>>();
    assert_eq!(sizes(&BlockMap::new(10, 4).unwrap()), [3, 3, 3, 1]);
    assert_eq!(BlockMap::new(10, 4).unwrap().bounds(), [0, 3, 6, 9, 10]);
    assert_eq!(sizes(&BlockMap::new(2, 4).unwrap()), [1, 1, 0, 0]);
    assert_eq!(sizes(&BlockMap::new(0, 3).unwrap()), [0, 0, 0]);
    assert_eq!(sizes(&BlockMap::new(12, 4).unwrap()), [3, 3, 3, 3]);
    assert_eq!(sizes(&BlockMap::new(9, 4).unwrap()), [3, 3, 3, 0]);
    // Every rank gets ceil(size / p) until the size runs out.
    for size in 0..=13usize {
        for p in 1..=5usize {
            let m = BlockMap::new(size, p).unwrap();
            let chunk = size.div_ceil(p);
            for r in 0..p {
                assert_eq!(m.local_size(r), chunk.min(size.saturating_sub(r * chunk)));
            }
        }
    }
    let m = BlockMap::new(10, 4).unwrap();
    assert_eq!(m.owners(9).unwrap(), [3]);
    assert_eq!(m.owners(3).unwrap(), [1]);
    assert_eq!(
        m.dimdict(1),
        DimDict::Block {
            size: 10,
            proc_grid_size: 4,
            proc_grid_rank: 1,
            start: 3,
            stop: 6,
            padding: (0, 0),
            periodic: false
        }
    );
    assert_eq!(m.global_dim_dict(), GlobalDimDict::Block { bounds: vec![0, 3, 6, 9, 10] });
    // Empty pieces in the middle: owners skip them.
    let m = BlockMap::from_bounds(vec![0, 2, 2, 5]).unwrap();
    assert_eq!(m.owners(2).unwrap(), [2]);
    assert_eq!(m.owners(1).unwrap(), [0]);
}

#[test]
fn block_cyclic_explicit_layout() {
    // bs 2, size 11, 3 ranks: blocks [0,1][2,3][4,5][6,7][8,9][10] -> ranks 0,1,2,0,1,2.
    let m = BlockCyclicMap::new(11, 3, 2).unwrap();
    assert_eq!(m.global_indices(0), [0, 1, 6, 7]);
    assert_eq!(m.global_indices(1), [2, 3, 8, 9]);
    assert_eq!(m.global_indices(2), [4, 5, 10]);
    assert_eq!((0..3).map(|r| m.local_size(r)).collect::<Vec<_>>(), [4, 4, 3]);
    assert_eq!(m.owners(10).unwrap(), [2]);
    assert_eq!(m.owners(7).unwrap(), [0]);
    assert_eq!(m.contiguous_range(0), None);
    assert_eq!(
        m.dimdict(2),
        DimDict::BlockCyclic { size: 11, proc_grid_size: 3, proc_grid_rank: 2, start: 4, block_size: 2 }
    );
    assert_eq!(m.dist(), Dist::BlockCyclic { block_size: 2 });
    // Partial last block goes to rank (size / bs) % p: size 7, bs 3, p 2 -> block 2 on rank 0.
    let m = BlockCyclicMap::new(7, 2, 3).unwrap();
    assert_eq!(m.global_indices(0), [0, 1, 2, 6]);
    assert_eq!(m.global_indices(1), [3, 4, 5]);
    assert_eq!(m.contiguous_range(1), Some(3..6));
    // Plain cyclic.
    let m = BlockCyclicMap::new(5, 2, 1).unwrap();
    assert_eq!(m.global_indices(0), [0, 2, 4]);
    assert_eq!(m.global_indices(1), [1, 3]);
    // Formula check on all small cases.
    for size in 0..=13 {
        for p in 1..=5 {
            for bs in 1..=4 {
                let m = BlockCyclicMap::new(size, p, bs).unwrap();
                for i in 0..size {
                    assert_eq!(m.owners(i).unwrap(), [(i / bs) % p]);
                }
                for r in 0..p {
                    let expect: Vec<usize> = (0..size).filter(|i| (i / bs) % p == r).collect();
                    assert_eq!(m.global_indices(r), expect, "size {size} p {p} bs {bs} rank {r}");
                }
            }
        }
    }
}

#[test]
fn unstructured_default_differs_from_block() {
    let u = UnstructuredMap::new(10, 4, None).unwrap();
    let b = BlockMap::new(10, 4).unwrap();
    for r in 0..4 {
        assert_eq!(u.local_size(r), b.local_size(r));
    }
    assert_ne!(u.global_indices(0), b.global_indices(0));
    // Deterministic.
    assert_eq!(u, UnstructuredMap::new(10, 4, None).unwrap());
    assert_eq!(u.indices().len(), 4);
    assert!(!u.is_compatible(&Map::Block(b)));
}

#[test]
fn unstructured_explicit_and_errors() {
    let m = UnstructuredMap::new(5, 2, Some(vec![vec![4, 0, 2], vec![3, 1]])).unwrap();
    assert_eq!(m.global_indices(0), [4, 0, 2]);
    assert_eq!(m.owners(3).unwrap(), [1]);
    assert_eq!(m.contiguous_range(0), None);
    let c = UnstructuredMap::new(5, 2, Some(vec![vec![2, 3, 4], vec![0, 1]])).unwrap();
    assert_eq!(c.contiguous_range(0), Some(2..5));

    let bad = |size, p, idx: Vec<Vec<usize>>| kind(UnstructuredMap::new(size, p, Some(idx)));
    // Duplicated.
    assert_eq!(bad(3, 2, vec![vec![0, 1], vec![1, 2]]), ErrorKind::InvalidDimData);
    assert_eq!(bad(3, 2, vec![vec![0, 0, 1], vec![2]]), ErrorKind::InvalidDimData);
    // Missing.
    assert_eq!(bad(3, 2, vec![vec![0], vec![2]]), ErrorKind::InvalidDimData);
    assert_eq!(bad(3, 2, vec![vec![0], vec![1]]), ErrorKind::InvalidDimData);
    // Out of range.
    assert_eq!(bad(3, 2, vec![vec![0, 1], vec![3]]), ErrorKind::InvalidDimData);
    // Wrong number of lists.
    assert_eq!(bad(3, 2, vec![vec![0, 1, 2]]), ErrorKind::InvalidDimData);
    assert_eq!(kind(UnstructuredMap::new(3, 0, None)), ErrorKind::InvalidGridShape);
    let e = UnstructuredMap::new(4, 2, Some(vec![vec![0, 1], vec![1, 3]])).unwrap_err();
    assert!(e.message().contains('1'), "{e}");
    let e = UnstructuredMap::new(4, 2, Some(vec![vec![0, 1], vec![3]])).unwrap_err();
    assert!(e.message().contains("2 is missing"), "{e}");
}

#[test]
fn constructor_errors() {
    assert_eq!(kind(BlockMap::new(5, 0)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(BlockCyclicMap::new(5, 0, 1)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(BlockCyclicMap::new(5, 2, 0)), ErrorKind::InvalidDist);
    assert_eq!(kind(BlockCyclicMap::new(5, 3, usize::MAX)), ErrorKind::InvalidDist);
    assert!(BlockCyclicMap::new(5, 1, usize::MAX).is_ok());
    assert_eq!(kind(NoDistMap::new(5, 2)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(NoDistMap::new(5, 0)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(map_from_sizes(5, Dist::NoDist, 3)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(map_from_sizes(5, Dist::Block, 0)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(BlockMap::from_bounds(vec![0])), ErrorKind::InvalidGridShape);
    assert_eq!(kind(BlockMap::from_bounds(vec![1, 3])), ErrorKind::InvalidDimData);
    assert_eq!(kind(BlockMap::from_bounds(vec![0, 3, 2])), ErrorKind::InvalidDimData);
    // Huge sizes do not overflow.
    let m = BlockMap::new(usize::MAX, 3).unwrap();
    assert_eq!(m.bounds().last(), Some(&usize::MAX));
    assert_eq!(m.owners(usize::MAX - 1).unwrap(), [2]);
    let m = BlockCyclicMap::new(usize::MAX, 3, usize::MAX / 2).unwrap();
    assert_eq!(m.local_size(0) + m.local_size(1) + m.local_size(2), usize::MAX);
    assert_eq!(m.contiguous_range(2), Some(usize::MAX - 1..usize::MAX));
}

#[test]
fn deserialising_invalid_maps_fails() {
    #[derive(serde::Serialize)]
    struct FakeBlock {
        bounds: Vec<usize>,
        halo: usize,
        periodic: bool,
    }
    #[derive(serde::Serialize)]
    struct FakeCyclic {
        size: usize,
        grid_size: usize,
        block_size: usize,
    }
    #[derive(serde::Serialize)]
    struct FakeUnstructured {
        size: usize,
        indices: Vec<Vec<usize>>,
    }
    let fake =
        |bounds: Vec<usize>, halo: usize| postcard::to_stdvec(&FakeBlock { bounds, halo, periodic: false }).unwrap();
    assert!(postcard::from_bytes::<BlockMap>(&fake(vec![0, 5, 3], 0)).is_err());
    assert_eq!(postcard::from_bytes::<BlockMap>(&fake(vec![0, 3, 5], 1)).unwrap().bounds(), [0, 3, 5]);
    // A halo wider than a piece.
    assert!(postcard::from_bytes::<BlockMap>(&fake(vec![0, 3, 5], 3)).is_err());
    let b = postcard::to_stdvec(&FakeCyclic { size: 3, grid_size: 2, block_size: 0 }).unwrap();
    assert!(postcard::from_bytes::<BlockCyclicMap>(&b).is_err());
    let b = postcard::to_stdvec(&FakeUnstructured { size: 3, indices: vec![vec![0], vec![0, 2]] }).unwrap();
    assert!(postcard::from_bytes::<UnstructuredMap>(&b).is_err());
}

fn block_dd(size: usize, p: usize, r: usize, start: usize, stop: usize) -> DimDict {
    DimDict::Block { size, proc_grid_size: p, proc_grid_rank: r, start, stop, padding: (0, 0), periodic: false }
}

#[test]
fn bad_block_dim_dicts() {
    let bad = |dicts: Vec<DimDict>| kind(Map::from_axis_dim_dicts(&dicts));
    let ok = vec![block_dd(10, 2, 0, 0, 4), block_dd(10, 2, 1, 4, 10)];
    assert_eq!(Map::from_axis_dim_dicts(&ok).unwrap(), Map::Block(BlockMap::from_bounds(vec![0, 4, 10]).unwrap()));
    // Gap.
    assert_eq!(bad(vec![block_dd(10, 2, 0, 0, 4), block_dd(10, 2, 1, 5, 10)]), ErrorKind::InvalidDimData);
    // Overlap.
    assert_eq!(bad(vec![block_dd(10, 2, 0, 0, 5), block_dd(10, 2, 1, 4, 10)]), ErrorKind::InvalidDimData);
    // Wrong start.
    assert_eq!(bad(vec![block_dd(10, 2, 0, 1, 4), block_dd(10, 2, 1, 4, 10)]), ErrorKind::InvalidDimData);
    // Does not reach the size / goes past it.
    assert_eq!(bad(vec![block_dd(10, 2, 0, 0, 4), block_dd(10, 2, 1, 4, 9)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![block_dd(10, 2, 0, 0, 4), block_dd(10, 2, 1, 4, 11)]), ErrorKind::InvalidDimData);
    // stop < start.
    assert_eq!(
        bad(vec![block_dd(10, 3, 0, 0, 4), block_dd(10, 3, 1, 4, 3), block_dd(10, 3, 2, 3, 10)]),
        ErrorKind::InvalidDimData
    );
    // Missing rank (few dicts, and many dicts of the same rank).
    assert_eq!(bad(vec![block_dd(10, 2, 0, 0, 10)]), ErrorKind::InvalidDimData);
    assert_eq!(
        bad(vec![block_dd(10, 2, 1, 0, 10), block_dd(10, 2, 1, 0, 10), block_dd(10, 2, 1, 0, 10)]),
        ErrorKind::InvalidDimData
    );
    assert_eq!(bad(vec![block_dd(10, usize::MAX, 0, 0, 10)]), ErrorKind::InvalidDimData);
    // Conflicting repeats of one rank.
    assert_eq!(
        bad(vec![block_dd(10, 2, 0, 0, 4), block_dd(10, 2, 1, 4, 10), block_dd(10, 2, 0, 0, 5)]),
        ErrorKind::InvalidDimData
    );
    // Rank out of the grid, grid of 0, disagreeing sizes, mixed types, nothing.
    assert_eq!(bad(vec![block_dd(10, 1, 0, 0, 10), block_dd(10, 1, 1, 0, 10)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![block_dd(0, 0, 0, 0, 0)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![block_dd(10, 2, 0, 0, 4), block_dd(11, 2, 1, 4, 11)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![block_dd(10, 2, 0, 0, 4), DimDict::NoDist { size: 10 }]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![]), ErrorKind::InvalidDimData);
    // Padding is a halo: one width per axis, on every side with a
    // neighbour (boundary sides may give it or 0).
    let padded = |p: usize, r: usize, start: usize, stop: usize, padding: (usize, usize)| DimDict::Block {
        size: 10,
        proc_grid_size: p,
        proc_grid_rank: r,
        start,
        stop,
        padding,
        periodic: false,
    };
    let halo = Map::from_axis_dim_dicts(&[padded(2, 0, 0, 4, (0, 2)), padded(2, 1, 4, 10, (2, 2))]).unwrap();
    assert_eq!(halo, Map::Block(BlockMap::from_bounds(vec![0, 4, 10]).unwrap().with_halo(2, false).unwrap()));
    // Different widths on the two sides of an inner edge, or a halo wider
    // than a piece: refused.
    assert_eq!(bad(vec![padded(2, 0, 0, 4, (0, 1)), padded(2, 1, 4, 10, (2, 2))]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![padded(2, 0, 0, 4, (5, 5)), padded(2, 1, 4, 10, (5, 5))]), ErrorKind::InvalidDimData);
    // The message names what was wrong.
    let e = Map::from_axis_dim_dicts(&[block_dd(10, 2, 0, 0, 4), block_dd(10, 2, 1, 5, 10)]).unwrap_err();
    assert!(e.message().contains("gap"), "{e}");
    let e = Map::from_axis_dim_dicts(&[block_dd(10, 3, 0, 0, 4), block_dd(10, 3, 2, 4, 10)]).unwrap_err();
    assert!(e.message().contains("proc_grid_rank 1"), "{e}");
}

#[test]
fn bad_cyclic_unstructured_nodist_dim_dicts() {
    let c = |p, r, start, bs| DimDict::BlockCyclic {
        size: 10,
        proc_grid_size: p,
        proc_grid_rank: r,
        start,
        block_size: bs,
    };
    assert!(Map::from_axis_dim_dicts(&[c(2, 0, 0, 2), c(2, 1, 2, 2)]).is_ok());
    let bad = |dicts: Vec<DimDict>| kind(Map::from_axis_dim_dicts(&dicts));
    assert_eq!(bad(vec![c(2, 0, 0, 2), c(2, 1, 1, 2)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![c(2, 0, 0, 2), c(2, 1, 3, 3)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![c(2, 0, 0, 0), c(2, 1, 0, 0)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![c(2, 0, 0, 2)]), ErrorKind::InvalidDimData);
    assert_eq!(bad(vec![c(2, 0, 0, 2), c(2, 1, 2, usize::MAX)]), ErrorKind::InvalidDimData);

    let u = |r, idx: Vec<usize>| DimDict::Unstructured {
        size: 4,
        proc_grid_size: 2,
        proc_grid_rank: r,
        indices: idx,
        one_to_one: true,
    };
    assert!(Map::from_axis_dim_dicts(&[u(0, vec![3, 0]), u(1, vec![1, 2])]).is_ok());
    // Duplicated index.
    assert_eq!(bad(vec![u(0, vec![3, 0, 1]), u(1, vec![1, 2])]), ErrorKind::InvalidDimData);
    // Missing index.
    assert_eq!(bad(vec![u(0, vec![3]), u(1, vec![1, 2])]), ErrorKind::InvalidDimData);
    // Out of range.
    assert_eq!(bad(vec![u(0, vec![3, 0]), u(1, vec![1, 4])]), ErrorKind::InvalidDimData);
    // Missing rank.
    assert_eq!(bad(vec![u(0, vec![0, 1, 2, 3])]), ErrorKind::InvalidDimData);

    // 'n' as itself or as a one-rank 'b' covering the axis.
    let n = DimDict::NoDist { size: 6 };
    assert_eq!(Map::from_axis_dim_dicts(&[n.clone(), n.clone()]).unwrap(), Map::NoDist(NoDistMap::new(6, 1).unwrap()));
    assert_eq!(
        Dist::NoDist.from_axis_dim_dicts(&[block_dd(6, 1, 0, 0, 6)]).unwrap(),
        Map::NoDist(NoDistMap::new(6, 1).unwrap())
    );
    assert_eq!(kind(Dist::NoDist.from_axis_dim_dicts(&[block_dd(6, 1, 0, 0, 5)])), ErrorKind::InvalidDimData);
    assert_eq!(
        kind(Dist::NoDist.from_axis_dim_dicts(&[block_dd(6, 2, 0, 0, 3), block_dd(6, 2, 1, 3, 6)])),
        ErrorKind::InvalidDimData
    );
    assert_eq!(
        kind(Dist::NoDist.from_axis_dim_dicts(&[n.clone(), DimDict::NoDist { size: 7 }])),
        ErrorKind::InvalidDimData
    );
    assert_eq!(kind(Dist::NoDist.from_axis_dim_dicts(&[])), ErrorKind::InvalidDimData);
    // Asking for one type with dicts of another.
    assert_eq!(kind(Dist::Block.from_axis_dim_dicts(&[n])), ErrorKind::InvalidDimData);
}

#[test]
fn bad_global_dim_dicts() {
    let bad = |d: GlobalDimDict| kind(map_from_global_dim_dict(&d));
    assert_eq!(bad(GlobalDimDict::Block { bounds: vec![] }), ErrorKind::InvalidDimData);
    assert_eq!(bad(GlobalDimDict::Block { bounds: vec![1, 4] }), ErrorKind::InvalidDimData);
    assert_eq!(bad(GlobalDimDict::Block { bounds: vec![0, 4, 2] }), ErrorKind::InvalidDimData);
    assert_eq!(
        bad(GlobalDimDict::BlockCyclic { size: 4, proc_grid_size: 0, block_size: 1 }),
        ErrorKind::InvalidDimData
    );
    assert_eq!(
        bad(GlobalDimDict::BlockCyclic { size: 4, proc_grid_size: 2, block_size: 0 }),
        ErrorKind::InvalidDimData
    );
    assert_eq!(bad(GlobalDimDict::Unstructured { size: 4, indices: vec![] }), ErrorKind::InvalidDimData);
    assert_eq!(bad(GlobalDimDict::Unstructured { size: 4, indices: vec![vec![0, 1, 2]] }), ErrorKind::InvalidDimData);
    assert_eq!(kind(Dist::Block.from_global_dim_dict(&GlobalDimDict::NoDist { size: 3 })), ErrorKind::InvalidDimData);
    assert_eq!(map_from_global_dim_dict(&GlobalDimDict::Block { bounds: vec![0, 2, 2, 7] }).unwrap().grid_size(), 3);
}

#[test]
fn dist_letters() {
    assert_eq!(Dist::from_char('b').unwrap(), Dist::Block);
    assert_eq!(Dist::from_char('c').unwrap(), Dist::CYCLIC);
    assert_eq!(Dist::from_char('n').unwrap(), Dist::NoDist);
    assert_eq!(Dist::from_char('u').unwrap(), Dist::Unstructured);
    assert_eq!(choose_map('c').unwrap(), Dist::BlockCyclic { block_size: 1 });
    for c in ['x', 'B', ' ', 'é'] {
        let e = Dist::from_char(c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidDist);
        assert!(e.message().contains(c) && e.message().contains("'b'"), "{e}");
        assert_eq!(kind(choose_map(c)), ErrorKind::InvalidDist);
    }
    assert_eq!(Dist::parse("bcnu").unwrap(), [Dist::Block, Dist::CYCLIC, Dist::NoDist, Dist::Unstructured]);
    assert_eq!(Dist::parse("").unwrap(), []);
    assert_eq!(kind(Dist::parse("bxc")), ErrorKind::InvalidDist);
    for d in Dist::parse("bcnu").unwrap() {
        assert_eq!(Dist::from_char(d.letter()).unwrap(), d);
    }
    assert_eq!(Dist::BlockCyclic { block_size: 4 }.letter(), 'c');
}

#[test]
fn compatibility() {
    let a = map_from_sizes(10, Dist::Block, 2).unwrap();
    assert!(a.is_compatible(&map_from_sizes(10, Dist::Block, 2).unwrap()));
    assert!(!a.is_compatible(&map_from_sizes(11, Dist::Block, 2).unwrap()));
    assert!(!a.is_compatible(&map_from_sizes(10, Dist::Block, 3).unwrap()));
    assert!(!a.is_compatible(&map_from_sizes(10, Dist::CYCLIC, 2).unwrap()));
    let c = map_from_sizes(10, Dist::BlockCyclic { block_size: 2 }, 2).unwrap();
    assert!(!c.is_compatible(&map_from_sizes(10, Dist::CYCLIC, 2).unwrap()));
    let n = map_from_sizes(10, Dist::NoDist, 1).unwrap();
    assert!(!n.is_compatible(&map_from_sizes(10, Dist::Block, 1).unwrap()));
    assert!(BlockMap::new(4, 2).unwrap().is_compatible(&Map::Block(BlockMap::new(4, 2).unwrap())));
}

#[test]
fn grid_shapes() {
    let bb = Dist::parse("bb").unwrap();
    assert_eq!(make_grid_shape(&[10, 10], &bb, 4).unwrap(), [2, 2]);
    assert_eq!(make_grid_shape(&[100, 10], &bb, 4).unwrap(), [4, 1]);
    assert_eq!(make_grid_shape(&[10, 100], &bb, 4).unwrap(), [1, 4]);
    assert_eq!(make_grid_shape(&[6, 6, 6], &Dist::parse("bbb").unwrap(), 8).unwrap(), [2, 2, 2]);
    assert_eq!(make_grid_shape(&[5, 7], &Dist::parse("bn").unwrap(), 4).unwrap(), [4, 1]);
    assert_eq!(make_grid_shape(&[5, 7], &Dist::parse("nc").unwrap(), 3).unwrap(), [1, 3]);
    assert_eq!(make_grid_shape(&[5, 7, 9], &Dist::parse("bnb").unwrap(), 6).unwrap(), [2, 1, 3]);
    assert_eq!(make_grid_shape(&[10, 10], &bb, 1).unwrap(), [1, 1]);
    assert_eq!(make_grid_shape(&[10], &Dist::parse("b").unwrap(), 7).unwrap(), [7]);
    assert_eq!(make_grid_shape(&[], &[], 1).unwrap(), Vec::<usize>::new());
    // No distributed axis: all 1s whatever the number of processes (DistArray).
    assert_eq!(make_grid_shape(&[], &[], 2).unwrap(), Vec::<usize>::new());
    assert_eq!(make_grid_shape(&[4, 4], &Dist::parse("nn").unwrap(), 2).unwrap(), [1, 1]);
    assert_eq!(make_grid_shape(&[4, 4], &Dist::parse("nn").unwrap(), 1).unwrap(), [1, 1]);
    // One distributed axis: min(nprocs, size).
    assert_eq!(make_grid_shape(&[3], &Dist::parse("b").unwrap(), 4).unwrap(), [3]);
    assert_eq!(make_grid_shape(&[7, 5], &Dist::parse("nb").unwrap(), 4).unwrap(), [1, 4]);
    assert_eq!(make_grid_shape(&[7, 2], &Dist::parse("nc").unwrap(), 4).unwrap(), [1, 2]);
    assert_eq!(make_grid_shape(&[0], &Dist::parse("b").unwrap(), 4).unwrap(), [1]);
    assert_eq!(kind(make_grid_shape(&[4, 4], &bb, 0)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(make_grid_shape(&[4], &bb, 2)), ErrorKind::InvalidShape);
    // Zero-length axes do not divide by zero, and get one process.
    assert_eq!(make_grid_shape(&[0, 10], &bb, 6).unwrap(), [1, 6]);
    assert_eq!(make_grid_shape(&[10, 0], &bb, 6).unwrap(), [6, 1]);
    assert_eq!(make_grid_shape(&[0, 0], &bb, 6).unwrap(), [1, 1]);
    // DistArray's choice, cut to the axis lengths where it exceeds them.
    assert_eq!(make_grid_shape(&[2, 2], &bb, 6).unwrap(), [2, 2]);
    assert_eq!(make_grid_shape(&[1, 1], &bb, 4).unwrap(), [1, 1]);
    assert_eq!(make_grid_shape(&[5, 9], &bb, 8).unwrap(), [2, 4]);
    // The result always validates.
    for nprocs in 1..=12 {
        for shape in [[3, 5, 7], [100, 1, 10], [1, 1, 1]] {
            for dist in ["bbb", "bcn", "nbu", "cbb"] {
                let dist = Dist::parse(dist).unwrap();
                let g = make_grid_shape(&shape, &dist, nprocs).unwrap();
                validate_grid_shape(&g, &dist, nprocs).unwrap();
            }
        }
    }
}

#[test]
fn grid_shape_validation() {
    let bn = Dist::parse("bn").unwrap();
    validate_grid_shape(&[4, 1], &bn, 4).unwrap();
    validate_grid_shape(&[], &[], 1).unwrap();
    let bad = |g: &[usize], d: &[Dist], n| kind(validate_grid_shape(g, d, n));
    assert_eq!(bad(&[4, 1], &bn, 3), ErrorKind::InvalidGridShape);
    assert_eq!(bad(&[2, 2], &bn, 4), ErrorKind::InvalidGridShape);
    assert_eq!(bad(&[4], &bn, 4), ErrorKind::InvalidGridShape);
    // Fewer processes than there are is fine: the first engines are used.
    validate_grid_shape(&[2, 1], &bn, 4).unwrap();
    validate_grid_shape(&[], &[], 2).unwrap();
    // normalize_grid_shape pads with 1s, as DistArray's.
    assert_eq!(normalize_grid_shape(&[4], &bn, 4).unwrap(), [4, 1]);
    assert_eq!(normalize_grid_shape(&[2], &bn, 4).unwrap(), [2, 1]);
    assert_eq!(kind(normalize_grid_shape(&[4, 1, 1], &bn, 4)), ErrorKind::InvalidGridShape);
    assert_eq!(kind(normalize_grid_shape(&[5], &bn, 4)), ErrorKind::InvalidGridShape);
    let e = normalize_grid_shape(&[1], &Dist::parse("nb").unwrap(), 4).unwrap();
    assert_eq!(e, [1, 1]);
    let e = normalize_grid_shape(&[2], &Dist::parse("nb").unwrap(), 4).unwrap_err();
    assert!(e.message().contains("padded") && e.message().contains("axis 0"), "{e}");
    assert_eq!(bad(&[0, 1], &bn, 0), ErrorKind::InvalidGridShape);
    let bb = Dist::parse("bb").unwrap();
    assert_eq!(bad(&[usize::MAX, 2], &bb, 2), ErrorKind::InvalidGridShape);
    let e = validate_grid_shape(&[2, 2], &bn, 4).unwrap_err();
    assert!(e.message().contains("axis 1"), "{e}");
}

#[test]
fn partitions() {
    assert_eq!(mult_partitions(12, 2), [vec![1, 12], vec![2, 6], vec![3, 4]]);
    assert_eq!(mult_partitions(52, 3), [vec![1, 1, 52], vec![1, 2, 26], vec![1, 4, 13], vec![2, 2, 13]]);
    assert_eq!(mult_partitions(8, 3), [vec![1, 1, 8], vec![1, 2, 4], vec![2, 2, 2]]);
    assert_eq!(mult_partitions(7, 1), [vec![7]]);
    assert_eq!(mult_partitions(1, 3), [vec![1, 1, 1]]);
    assert_eq!(mult_partitions(1, 0), [Vec::<usize>::new()]);
    assert!(mult_partitions(5, 0).is_empty());
    assert!(mult_partitions(0, 2).is_empty());
    assert_eq!(mult_partitions(4, 1000).len(), 2);
    // Brute force over all ascending lists for small n and k.
    fn brute(n: usize, k: usize, min: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k == 0 {
            if cur.iter().product::<usize>() == n {
                out.push(cur.clone());
            }
            return;
        }
        for v in min..=n {
            cur.push(v);
            brute(n, k - 1, v, cur, out);
            cur.pop();
        }
    }
    for n in 1..=36usize {
        for k in 1..=4usize {
            let mut expect = Vec::new();
            brute(n, k, 1, &mut Vec::new(), &mut expect);
            assert_eq!(mult_partitions(n, k), expect, "n {n} k {k}");
        }
    }
}

#[test]
fn coords_round_trip() {
    assert_eq!(rank_to_coords(5, &[2, 3]), [1, 2]);
    assert_eq!(rank_to_coords(3, &[2, 3]), [1, 0]);
    assert_eq!(coords_to_rank(&[1, 2], &[2, 3]), 5);
    assert_eq!(rank_to_coords(0, &[]), Vec::<usize>::new());
    for shape in [vec![1], vec![4], vec![2, 3], vec![3, 1, 2], vec![2, 2, 2, 2]] {
        let n: usize = shape.iter().product();
        let mut seen = Vec::new();
        for r in 0..n {
            let c = rank_to_coords(r, &shape);
            assert!(c.iter().zip(&shape).all(|(c, g)| c < g), "{shape:?} {r} {c:?}");
            assert_eq!(coords_to_rank(&c, &shape), r);
            seen.push(c);
        }
        // C order: coordinates ascend lexicographically with the rank.
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
    }
}

// ---------------------------------------------------------------------------
// Grid shapes and targets of the builder, against Python DistArray's
// `Distribution(context, shape, dist, grid_shape, targets)` (the expected
// values were printed by DistArray's own `globalapi/maps.py` and
// `metadata_utils.py`, with a context of `n` engines numbered 0..n).

/// What the builder's rules give for `shape`, `dist` on engines `0..n`: the
/// grid shape, the targets and every rank's local shape.
fn planned(shape: &[usize], dist: &str, n: usize, grid: Option<&[usize]>) -> (Vec<usize>, Vec<usize>, Vec<Vec<usize>>) {
    let dist = Dist::parse(dist).unwrap();
    let (maps, targets) = super::plan(shape, &dist, grid, (0..n).collect(), false).unwrap();
    let grid_shape: Vec<usize> = maps.iter().map(MapBase::grid_size).collect();
    let local = (0..targets.len())
        .map(|r| maps.iter().zip(rank_to_coords(r, &grid_shape)).map(|(m, c)| m.local_size(c)).collect())
        .collect();
    (grid_shape, targets, local)
}

#[track_caller]
fn check_plan(
    shape: &[usize],
    dist: &str,
    n: usize,
    grid: Option<&[usize]>,
    want_grid: &[usize],
    want_targets: &[usize],
    want_local: &[&[usize]],
) {
    let (g, t, l) = planned(shape, dist, n, grid);
    let what = format!("{shape:?} '{dist}' on {n} engines, grid {grid:?}");
    assert_eq!(g, want_grid, "grid of {what}");
    assert_eq!(t, want_targets, "targets of {what}");
    assert_eq!(l, want_local.iter().map(|s| s.to_vec()).collect::<Vec<_>>(), "local shapes of {what}");
}

#[test]
fn one_small_axis_uses_fewer_engines() {
    check_plan(&[3], "b", 4, None, &[3], &[0, 1, 2], &[&[1], &[1], &[1]]);
    check_plan(&[7, 5], "nb", 4, None, &[1, 3], &[0, 1, 2], &[&[7, 2], &[7, 2], &[7, 1]]);
    // More elements than engines, but the ceil-sized blocks leave the last empty.
    check_plan(&[5], "b", 4, None, &[3], &[0, 1, 2], &[&[2], &[2], &[1]]);
    check_plan(&[6], "b", 4, None, &[3], &[0, 1, 2], &[&[2], &[2], &[2]]);
    check_plan(&[4], "b", 3, None, &[2], &[0, 1], &[&[2], &[2]]);
    check_plan(&[2], "b", 3, None, &[2], &[0, 1], &[&[1], &[1]]);
    check_plan(&[1], "b", 4, None, &[1], &[0], &[&[1]]);
    check_plan(&[10], "b", 4, None, &[4], &[0, 1, 2, 3], &[&[3], &[3], &[3], &[1]]);
    check_plan(&[13], "b", 4, None, &[4], &[0, 1, 2, 3], &[&[4], &[4], &[4], &[1]]);
    check_plan(&[7], "b", 3, None, &[3], &[0, 1, 2], &[&[3], &[3], &[1]]);
    check_plan(&[5], "b", 1, None, &[1], &[0], &[&[5]]);
}

#[test]
fn cyclic_small_axis_uses_min_of_engines_and_size() {
    check_plan(&[3], "c", 4, None, &[3], &[0, 1, 2], &[&[1], &[1], &[1]]);
    check_plan(&[5], "c", 4, None, &[4], &[0, 1, 2, 3], &[&[2], &[1], &[1], &[1]]);
    // Cyclic axes are not trimmed: an explicit grid keeps its empty piece.
    check_plan(&[3], "c", 4, Some(&[4]), &[4], &[0, 1, 2, 3], &[&[1], &[1], &[1], &[0]]);
    // Block-cyclic with blocks of 2: 4 elements on 4 ranks, ranks 2 and 3 empty, as
    // DistArray (whose grid choice looks at the size only).
    let (maps, targets) =
        super::plan(&[4], &[Dist::BlockCyclic { block_size: 2 }], None, vec![0, 1, 2, 3], false).unwrap();
    assert_eq!(targets, [0, 1, 2, 3]);
    assert_eq!((0..4).map(|r| maps[0].local_size(r)).collect::<Vec<_>>(), [2, 2, 0, 0]);
}

#[test]
fn several_axes_follow_distarray() {
    check_plan(
        &[5, 9],
        "bb",
        8,
        None,
        &[2, 3],
        &[0, 1, 2, 4, 5, 6],
        &[&[3, 3], &[3, 3], &[3, 3], &[2, 3], &[2, 3], &[2, 3]],
    );
    check_plan(&[1, 9], "bb", 4, None, &[1, 3], &[0, 1, 2], &[&[1, 3], &[1, 3], &[1, 3]]);
    check_plan(&[2, 2], "bb", 4, None, &[2, 2], &[0, 1, 2, 3], &[&[1, 1], &[1, 1], &[1, 1], &[1, 1]]);
    check_plan(&[2, 3], "bb", 4, None, &[2, 2], &[0, 1, 2, 3], &[&[1, 2], &[1, 1], &[1, 2], &[1, 1]]);
    check_plan(&[2, 2], "cc", 4, None, &[2, 2], &[0, 1, 2, 3], &[&[1, 1], &[1, 1], &[1, 1], &[1, 1]]);
    check_plan(&[3, 3], "bc", 4, None, &[2, 2], &[0, 1, 2, 3], &[&[2, 2], &[2, 1], &[1, 2], &[1, 1]]);
    check_plan(&[7, 5], "bb", 4, None, &[2, 2], &[0, 1, 2, 3], &[&[4, 3], &[4, 2], &[3, 3], &[3, 2]]);
    check_plan(&[10, 3], "bb", 4, None, &[4, 1], &[0, 1, 2, 3], &[&[3, 3], &[3, 3], &[3, 3], &[1, 3]]);
    check_plan(&[10, 3], "bb", 3, None, &[3, 1], &[0, 1, 2], &[&[4, 3], &[4, 3], &[2, 3]]);
    check_plan(&[5, 7], "bb", 3, None, &[1, 3], &[0, 1, 2], &[&[5, 3], &[5, 3], &[5, 1]]);
}

#[test]
fn three_axes_follow_distarray() {
    check_plan(
        &[2, 3, 7],
        "bbb",
        4,
        None,
        &[1, 1, 4],
        &[0, 1, 2, 3],
        &[&[2, 3, 2], &[2, 3, 2], &[2, 3, 2], &[2, 3, 1]],
    );
    check_plan(
        &[3, 4, 5],
        "bbb",
        4,
        None,
        &[1, 2, 2],
        &[0, 1, 2, 3],
        &[&[3, 2, 3], &[3, 2, 2], &[3, 2, 3], &[3, 2, 2]],
    );
    check_plan(
        &[3, 4, 5],
        "bcb",
        4,
        None,
        &[1, 2, 2],
        &[0, 1, 2, 3],
        &[&[3, 2, 3], &[3, 2, 2], &[3, 2, 3], &[3, 2, 2]],
    );
    check_plan(&[3, 4, 5], "bbb", 3, None, &[1, 1, 3], &[0, 1, 2], &[&[3, 4, 2], &[3, 4, 2], &[3, 4, 1]]);
    check_plan(&[2, 3, 7], "bbb", 3, None, &[1, 1, 3], &[0, 1, 2], &[&[2, 3, 3], &[2, 3, 3], &[2, 3, 1]]);
    check_plan(
        &[2, 5, 2],
        "bnb",
        4,
        None,
        &[2, 1, 2],
        &[0, 1, 2, 3],
        &[&[1, 5, 1], &[1, 5, 1], &[1, 5, 1], &[1, 5, 1]],
    );
    let (g, t, l) = planned(&[3, 3, 3], "bbb", 8, None);
    assert_eq!((g, t), (vec![2, 2, 2], (0..8).collect::<Vec<_>>()));
    assert_eq!(l[0], [2, 2, 2]);
    assert_eq!(l[7], [1, 1, 1]);
}

#[test]
fn explicit_grid_on_fewer_engines_uses_the_first() {
    check_plan(&[10], "b", 4, Some(&[2]), &[2], &[0, 1], &[&[5], &[5]]);
    check_plan(&[8, 8], "bb", 4, Some(&[1, 2]), &[1, 2], &[0, 1], &[&[8, 4], &[8, 4]]);
    check_plan(&[8, 8], "bb", 4, Some(&[3, 1]), &[3, 1], &[0, 1, 2], &[&[3, 8], &[3, 8], &[2, 8]]);
    check_plan(&[9, 6], "bc", 4, Some(&[1, 3]), &[1, 3], &[0, 1, 2], &[&[9, 2], &[9, 2], &[9, 2]]);
    check_plan(&[4], "b", 4, Some(&[1]), &[1], &[0], &[&[4]]);
    // A shorter grid is padded with 1s.
    check_plan(&[8, 8], "bb", 4, Some(&[2]), &[2, 1], &[0, 1], &[&[4, 8], &[4, 8]]);
    // A block grid larger than the axis loses its empty pieces.
    check_plan(&[3], "b", 4, Some(&[4]), &[3], &[0, 1, 2], &[&[1], &[1], &[1]]);
    check_plan(&[6, 6], "bb", 4, Some(&[2, 2]), &[2, 2], &[0, 1, 2, 3], &[&[3, 3], &[3, 3], &[3, 3], &[3, 3]]);
    // Still errors: more processes than engines, 'n' axes above 1, too many entries.
    let err = |shape: &[usize], dist: &str, grid: &[usize]| {
        kind(super::plan(shape, &Dist::parse(dist).unwrap(), Some(grid), vec![0, 1, 2, 3], false))
    };
    assert_eq!(err(&[8, 8], "bb", &[4, 2]), ErrorKind::InvalidGridShape);
    assert_eq!(err(&[8, 8], "nb", &[2, 1]), ErrorKind::InvalidGridShape);
    assert_eq!(err(&[8, 8], "bb", &[1, 1, 1]), ErrorKind::InvalidGridShape);
    assert_eq!(err(&[8, 8], "bb", &[0, 1]), ErrorKind::InvalidGridShape);
}

#[test]
fn no_distributed_axis_goes_to_the_first_target() {
    check_plan(&[5, 5], "nn", 4, None, &[1, 1], &[0], &[&[5, 5]]);
    check_plan(&[3], "n", 4, None, &[1], &[0], &[&[3]]);
    check_plan(&[], "", 4, None, &[], &[0], &[&[]]);
    let nn = Dist::parse("nn").unwrap();
    let (_, t) = super::plan(&[5, 5], &nn, None, vec![2], true).unwrap();
    assert_eq!(t, [2]);
    // DistArray: "target dist conflict".
    assert_eq!(kind(super::plan(&[5, 5], &nn, None, vec![1, 2], true)), ErrorKind::InvalidTarget);
}

#[test]
fn targets_are_taken_in_the_given_order() {
    // DistArray sorts targets; here the caller's order is kept (as before), and
    // the first ones are used.
    let (_, t) = super::plan(&[5], &[Dist::Block], None, vec![3, 1, 2], true).unwrap();
    assert_eq!(t, [3, 1, 2]);
    let (_, t) = super::plan(&[10], &[Dist::Block], Some(&[2]), vec![3, 1, 2], true).unwrap();
    assert_eq!(t, [3, 1]);
}

#[test]
fn arrays_without_elements_live_on_one_engine() {
    // DistArray refuses these (a grid of 0, or a division by zero); here one
    // empty piece on the first engine for block and 'n' axes.
    check_plan(&[0], "b", 4, None, &[1], &[0], &[&[0]]);
    check_plan(&[0, 5], "nb", 4, None, &[1, 1], &[0], &[&[0, 5]]);
    check_plan(&[5, 0], "bb", 4, None, &[1, 1], &[0], &[&[5, 0]]);
    check_plan(&[0], "c", 4, None, &[1], &[0], &[&[0]]);
}

#[test]
fn axes_shorter_than_distarrays_grid_are_cut() {
    // DistArray raises here (its grid puts more processes on an axis than it
    // has elements); the grid is cut to the axis length instead.
    check_plan(&[1, 1], "bb", 4, None, &[1, 1], &[0], &[&[1, 1]]);
    check_plan(&[2, 2], "bb", 3, None, &[1, 2], &[0, 1], &[&[2, 1], &[2, 1]]);
    check_plan(
        &[3, 3],
        "cc",
        8,
        None,
        &[2, 3],
        &[0, 1, 2, 3, 4, 5],
        &[&[2, 1], &[2, 1], &[2, 1], &[1, 1], &[1, 1], &[1, 1]],
    );
}

#[test]
fn grids_too_large_to_tabulate_are_invalid_grids() {
    let e = BlockMap::new(10, usize::MAX / 2).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidGridShape, "{e}");
    assert!(e.message().contains("cannot allocate") && e.message().contains("grid or axis too large"), "{e}");
}
