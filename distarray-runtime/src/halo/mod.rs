//! Ghost cells: distributions whose block axes carry a halo (the
//! Distributed Array Protocol's `padding`, and `periodic`), and the halo
//! exchange that fills each piece's ghost cells from its neighbours, from the
//! client ([`DistArray::exchange_halos`](crate::DistArray::exchange_halos))
//! or inside a kernel
//! ([`LocalArray::exchange_halos`](crate::LocalArray::exchange_halos)).

pub(crate) mod engine;
