//! Data-parallel training: several processes train one model, each on its part of every batch,
//! and sum their gradients before each update (what Horovod and PyTorch DDP do). The executor
//! only needs the sum; the processes and the transport (MPI, in crates/node) are the
//! implementor's. Every process runs the same steps in the same order, so each call of a
//! collective happens on all of them.

/// Sums across the processes of a data-parallel run, in place: MPI_Allreduce with MPI_SUM.
pub trait Collective: Send + Sync {
    /// This process's place among them (0 = the one that logs and saves).
    fn rank(&self) -> usize;
    /// How many processes train together.
    fn size(&self) -> usize;
    fn sum_f32(&self, values: &mut [f32]) -> Result<(), String>;
    fn sum_f64(&self, values: &mut [f64]) -> Result<(), String>;
}

/// Rank `rank`'s rows of a global batch of `global` rows split into parts of `per_rank`: the
/// single process's batch of `per_rank × size` rows, cut in rank order (the last parts of the
/// last batch may be short or empty).
pub fn rank_rows(rank: usize, per_rank: usize, global: usize) -> std::ops::Range<usize> {
    let start = (rank * per_rank).min(global);
    start..((rank + 1) * per_rank).min(global)
}
