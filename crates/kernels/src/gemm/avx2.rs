//! AVX2+FMA micro-kernels: MR rows × NR columns of C held in ymm accumulators.
//!
//! With only 16 ymm registers, 6×16 (12 accumulators + 2 B vectors + 1 broadcast) is the largest
//! tile that does not spill; 12 independent FMA chains cover the FMA latency on two pipes.
//! Outputs at most 8 wide use a 12×8 tile instead of padding half of every 16-wide one.

use std::arch::x86_64::*;

use super::block::kernel_tier;
use super::fma_tile::fma_tile;
use super::pack::pack_block;

kernel_tier! {
    /// The kernel for an `MR × NR` tile; `NR` is 8 or 16 (one or two ymm per row).
    Avx2 { pack: pack_block, KC: 512, MC: 72, NC: 4096, features: "avx2,fma" }
}

pub(crate) type Wide = Avx2<6, 16>;
pub(crate) type Narrow = Avx2<12, 8>;

fma_tile! {
    features: "avx2,fma", lanes: 8, zero: _mm256_setzero_ps, load: _mm256_load_ps, loadu: _mm256_loadu_ps,
    storeu: _mm256_storeu_ps, set1: _mm256_set1_ps, fmadd: _mm256_fmadd_ps, add: _mm256_add_ps,
}
