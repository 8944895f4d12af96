//! Zero-dependency compute kernels for backprop: ISA selection, the thread pool, and GEMM with
//! per-ISA micro-kernels; (to come) activations, losses, optimizers, normalisation, the shared
//! PRNG and the Plan executor.

pub mod gemm;
pub mod isa;
pub mod pool;
