//! Would splitting every batch's rows between the threads (data parallelism within one process)
//! beat splitting each product (what the executor does)? Two OS threads each train a
//! one-thread `Network` on half of every mnist batch (784-256-128-10, Adam, batch 128) and sum
//! their gradients through shared memory, as a `Collective` — what data-parallel processes do
//! over MPI, minus the transport. It prints that against one thread, and against the executor
//! on all threads, interleaved:
//!   BACKPROP_THREADS=1 cargo run --release --offline -p backprop-kernels --example dp_bench
//! (BACKPROP_THREADS=1 keeps each network on its own thread; the executor's row is then run
//! with two threads by the example itself, in a child process.)
//!
//! On the two-die guest of docs/benchmarks.md (2026-12-04) rows split gave 1.25–1.34× over one
//! thread where the executor's products split gave 1.53–1.58×: a timer around the sum put the
//! 940 KB of gradients crossing between the dies at ~150 µs a batch, a fifth of it.

use kernels::collective::Collective;
use kernels::network::{Network, TrainingData};
use kernels::plan::{Activation, Clip, Layer, Loss, Optimizer, Plan};
use kernels::rng::Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const SIZES: [usize; 4] = [784, 256, 128, 10];
const BATCH: usize = 128;
const ROWS: usize = 16384;
const EPOCHS: usize = 4;

/// A barrier that spins: the std one sleeps on a futex, whose wake-up (tens of µs on this
/// guest) would be charged to data parallelism.
#[derive(Default)]
struct SpinBarrier {
    arrived: AtomicUsize,
    round: AtomicUsize,
}

impl SpinBarrier {
    fn wait(&self) {
        let round = self.round.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) == 1 {
            self.arrived.store(0, Ordering::Relaxed);
            self.round.fetch_add(1, Ordering::Release);
        } else {
            while self.round.load(Ordering::Acquire) == round {
                std::hint::spin_loop();
            }
        }
    }
}

/// Two threads' sum: each publishes its buffer, both add rank 0's and rank 1's in that order
/// (so both get the same bits), and each overwrites its own once the other has read it.
struct Pair {
    rank: usize,
    buffers: Arc<[AtomicUsize; 2]>,
    barrier: Arc<SpinBarrier>,
}

impl Pair {
    fn sum<T: Copy + std::ops::Add<Output = T>>(&self, values: &mut [T]) {
        self.buffers[self.rank].store(values.as_mut_ptr() as usize, Ordering::Release);
        self.barrier.wait();
        // SAFETY: both buffers have `values.len()` elements (the same plan on both threads) and
        // nobody writes them until the second barrier.
        let [a, b] = [0, 1].map(|r| unsafe { std::slice::from_raw_parts(self.buffers[r].load(Ordering::Acquire) as *const T, values.len()) });
        let sums: Vec<T> = a.iter().zip(b).map(|(&x, &y)| x + y).collect();
        self.barrier.wait();
        values.copy_from_slice(&sums);
    }
}

impl Collective for Pair {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        2
    }
    fn sum_f32(&self, values: &mut [f32]) -> Result<(), String> {
        self.sum(values);
        Ok(())
    }
    fn sum_f64(&self, values: &mut [f64]) -> Result<(), String> {
        self.sum(values);
        Ok(())
    }
}

fn plan() -> Plan {
    let mut layers = Vec::new();
    let mut offset = 0;
    for (l, w) in SIZES.windows(2).enumerate() {
        let activation = if l + 2 == SIZES.len() { Activation::Softmax } else { Activation::Relu };
        layers.push(Layer::Dense { inputs: w[0], units: w[1], activation, kernel: offset, bias: Some(offset + w[0] * w[1]), l1: 0.0, l2: 0.0 });
        offset += w[0] * w[1] + w[1];
    }
    let optimizer = Optimizer::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay: 0.0, clip: Clip::NONE };
    let plan = Plan { input_size: SIZES[0], output_size: SIZES[3], param_count: offset, stat_count: 0, loss: Some(Loss::SparseCategoricalCrossEntropy), metrics: Vec::new(), optimizer: Some(optimizer), layers };
    Plan::decode(&plan.encode()).expect("valid plan")
}

/// The best samples/s of the epochs after the first, training `per_thread` rows of every batch.
fn train(plan: &Plan, params: &[f32], data: &TrainingData, per_thread: usize, collective: Option<Arc<dyn Collective>>) -> f64 {
    let slots = vec![0.0; plan.slot_count() * params.len()];
    let mut net = Network::new(plan.clone(), params.to_vec(), vec![], slots, 0, [5, 6, 7, 8]).expect("valid network");
    net.set_collective(collective);
    (0..EPOCHS)
        .map(|_| {
            let start = Instant::now();
            net.train_epoch(data, per_thread, true, 1e-3, &mut |_, _| false);
            ROWS as f64 / start.elapsed().as_secs_f64()
        })
        .skip(1)
        .fold(0.0, f64::max)
}

fn main() {
    let (plan, mut rng) = (plan(), Rng::new([1, 2, 3, 4]));
    let params: Vec<f32> = (0..plan.param_count).map(|_| (rng.next_f64() as f32 - 0.5) * 0.1).collect();
    let data = TrainingData {
        x: (0..ROWS * SIZES[0]).map(|_| rng.next_f64() as f32).collect(),
        y: (0..ROWS).map(|_| rng.next_below(SIZES[3]) as f32).collect(),
        rows: ROWS,
        w: Vec::new(),
    };
    if std::env::args().nth(1).as_deref() == Some("--executor") {
        println!("{:.0}", train(&plan, &params, &data, BATCH, None));
        return;
    }
    if kernels::pool::max_threads() != 1 {
        eprintln!("run with BACKPROP_THREADS=1 (each thread's network must stay on its thread)");
        std::process::exit(2);
    }
    for round in 1..=3 {
        let one = train(&plan, &params, &data, BATCH, None);
        let (buffers, barrier) = (Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]), Arc::new(SpinBarrier::default()));
        let split = std::thread::scope(|s| {
            let threads: Vec<_> = (0..2)
                .map(|rank| {
                    let pair: Arc<dyn Collective> = Arc::new(Pair { rank, buffers: buffers.clone(), barrier: barrier.clone() });
                    let (plan, params, data) = (&plan, &params, &data);
                    s.spawn(move || train(plan, params, data, BATCH / 2, Some(pair)))
                })
                .collect();
            threads.into_iter().map(|t| t.join().expect("a training thread panicked")).fold(f64::INFINITY, f64::min)
        });
        let me = std::env::current_exe().expect("this example's path");
        let out = std::process::Command::new(me).arg("--executor").env("BACKPROP_THREADS", "2").output().expect("the executor's run");
        let executor: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("a rate");
        println!("round {round}: one thread {one:.0} samples/s; rows split {split:.0} ({:.2}×); products split {executor:.0} ({:.2}×)", split / one, executor / one);
    }
}
