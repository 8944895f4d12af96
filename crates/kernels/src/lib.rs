//! Zero-dependency compute kernels for backprop: ISA selection, the thread pool, GEMM with
//! per-ISA micro-kernels, the shared PRNG, the Plan, and the Plan executor with its kernels
//! (activations, losses, normalisation, dropout, optimizers).

pub mod activations;
pub mod alloc;
pub mod batch_norm;
pub mod caches;
pub mod chain;
pub mod collective;
pub mod dropout;
pub mod gemm;
pub mod isa;
pub mod losses;
pub mod network;
pub mod optimizers;
pub mod plan;
pub mod pool;
pub mod rng;
pub mod skinny;
#[cfg(target_arch = "x86_64")]
pub mod transpose;
pub mod tuner;
pub mod vmath;
