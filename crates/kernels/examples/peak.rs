//! The machine's measured float32 FMA peak and its caches, what the bench reports shares of:
//!   cargo run --release --offline -p backprop-kernels --example peak
//! Prints one JSON object: GFLOP/s of one core and of every core for each ISA tier the CPU has
//! (independent FMA chains on registers, no memory traffic), and the data-cache sizes from CPUID
//! (`kernels::caches`, which the GEMM sizes its blocks from). Some cores run 512-bit FMAs at
//! half rate: there the avx512 and avx2 peaks are close.

use std::arch::x86_64::*;
use std::hint::black_box;
use std::time::Instant;

/// FMAs per chain between timer reads: long enough that the clock and the loop cost nothing.
const ITERATIONS: u64 = 20_000_000;
/// Independent accumulators: enough to cover the FMA latency (4 cycles) × 2 ports.
const CHAINS: usize = 12;

#[target_feature(enable = "avx512f")]
unsafe fn fma_avx512(iterations: u64) -> f32 {
    let mut acc = [_mm512_set1_ps(0.0); CHAINS];
    let a = _mm512_set1_ps(black_box(0.999_999));
    let b = _mm512_set1_ps(black_box(1e-7));
    for _ in 0..iterations {
        for c in acc.iter_mut() {
            *c = _mm512_fmadd_ps(*c, a, b);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for c in acc {
        sum = _mm512_add_ps(sum, c);
    }
    _mm512_reduce_add_ps(sum)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn fma_avx2(iterations: u64) -> f32 {
    let mut acc = [_mm256_set1_ps(0.0); CHAINS];
    let a = _mm256_set1_ps(black_box(0.999_999));
    let b = _mm256_set1_ps(black_box(1e-7));
    for _ in 0..iterations {
        for c in acc.iter_mut() {
            *c = _mm256_fmadd_ps(*c, a, b);
        }
    }
    let mut out = [0.0f32; 8];
    let mut sum = _mm256_setzero_ps();
    for c in acc {
        sum = _mm256_add_ps(sum, c);
    }
    _mm256_storeu_ps(out.as_mut_ptr(), sum);
    out.iter().sum()
}

/// GFLOP/s of `threads` threads each running the tier's loop (2 flops per lane per FMA).
fn measure(tier: &str, threads: usize) -> f64 {
    let lanes = if tier == "avx512" { 16 } else { 8 };
    let run = move || {
        // SAFETY: main only measures tiers the CPU reports.
        let r = unsafe { if tier == "avx512" { fma_avx512(ITERATIONS) } else { fma_avx2(ITERATIONS) } };
        black_box(r);
    };
    run(); // warm-up: lets the core reach its AVX frequency
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(run);
            }
        });
        best = best.min(start.elapsed().as_secs_f64());
    }
    let flops = 2.0 * lanes as f64 * CHAINS as f64 * ITERATIONS as f64 * threads as f64;
    flops / best / 1e9
}

fn main() {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut tiers = Vec::new();
    if is_x86_feature_detected!("avx512f") {
        tiers.push("avx512");
    }
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        tiers.push("avx2");
    }
    let peaks: Vec<String> = tiers
        .iter()
        .map(|tier| format!("\"{tier}\": {{\"oneCore\": {:.1}, \"allCores\": {:.1}}}", measure(tier, 1), measure(tier, cores)))
        .collect();
    let caches: Vec<String> = kernels::caches::data_caches().iter().map(|c| format!("{{\"level\": {}, \"bytes\": {}, \"sharedBy\": {}}}", c.level, c.bytes, c.shared_by)).collect();
    println!("{{\"cores\": {cores}, \"gflops\": {{{}}}, \"caches\": [{}]}}", peaks.join(", "), caches.join(", "));
}
