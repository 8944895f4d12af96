//! Round-trip cost of an (almost) empty `parallel_for` region on 2 threads: back-to-back (the
//! worker is still spinning) and after an idle gap (the worker has gone to sleep). Then what a
//! region costs as training uses them: two tasks of 2 µs each, one a thread, then 2 µs of serial
//! work before the next region; the overhead is the time per region beyond those 4 µs. (In an
//! empty region the caller may take both tasks before the worker arrives.)
//!
//!   cargo run --release --offline -p backprop-kernels --example pool_bench

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kernels::pool::parallel_for_max;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Spins for `micros` µs (a task that keeps its core busy, as a GEMM's share does).
fn busy(micros: u64) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_micros(micros) {
        std::hint::spin_loop();
    }
}

fn main() {
    let hits = AtomicUsize::new(0);
    let region = || {
        parallel_for_max(2, 2, |i| {
            hits.fetch_add(black_box(i), Ordering::Relaxed);
        })
    };
    region(); // creates the pool
    let back_to_back: Vec<f64> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            region();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let after_idle: Vec<f64> = (0..200)
        .map(|_| {
            std::thread::sleep(Duration::from_micros(300));
            let t = Instant::now();
            region();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let mut idle = after_idle;
    idle.sort_by(f64::total_cmp);
    println!(
        "pool region, 2 threads: back-to-back median {:.2} µs; after 300 µs idle median {:.2} µs, \
         p90 {:.2} µs",
        median(back_to_back),
        idle[idle.len() / 2],
        idle[idle.len() * 9 / 10]
    );
    let loaded: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..1000 {
                parallel_for_max(2, 2, |_| busy(2));
                busy(2);
            }
            t.elapsed().as_secs_f64() * 1e6 / 1000.0 - 4.0
        })
        .collect();
    println!("a region of two 2 µs tasks between 2 µs of serial work: overhead median {:.2} µs", median(loaded));
}
