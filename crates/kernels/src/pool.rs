//! A persistent thread pool that runs `parallel_for` regions on the caller plus sleeping workers.
//!
//! Why persistent: spawning and joining a thread costs ~80 µs here, more than a whole mid-sized
//! GEMM. Why sleeping: on a 2-core machine a spinning idle worker steals the core the caller (or
//! another process's pool) needs, so workers spin only for a few microseconds after a region (to
//! catch back-to-back regions cheaply) and then block on a condition variable.
//!
//! One region runs at a time. A caller that finds the pool busy — another OS thread's region, or
//! a task that itself calls `parallel_for` — runs its tasks serially on its own thread instead of
//! waiting, so nesting and concurrent callers can never deadlock.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

/// How long a worker keeps polling for the next region before it goes to sleep. Training runs a
/// region every few tens of microseconds (each GEMM, the optimizer pass), with serial work
/// between them; a worker asleep in between costs a futex wake and a reschedule (~10–30 µs,
/// more on a virtual machine) each time, which was a fifth of a 2-thread mnist batch.
const SPIN: Duration = Duration::from_micros(300);

/// Within `SPIN`, how long to poll with the CPU's pause hint before yielding the core instead:
/// pausing reacts within nanoseconds; yielding leaves the core to another thread that needs it.
const PAUSE: Duration = Duration::from_micros(100);

/// Waits until `done()` or `SPIN` has passed; true if `done()`.
#[inline]
fn poll(done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    let mut checks = 0u32;
    loop {
        if done() {
            return true;
        }
        checks = checks.wrapping_add(1);
        // Reading the clock costs more than a pause: look at it every 64 polls.
        if checks % 64 == 0 {
            let waited = start.elapsed();
            if waited >= SPIN {
                return false;
            }
            if waited >= PAUSE {
                thread::yield_now();
                continue;
            }
        }
        std::hint::spin_loop();
    }
}

/// Threads a region may use, caller included: the available cores, capped by
/// `BACKPROP_THREADS` (read once).
pub fn max_threads() -> usize {
    config().threads
}

/// If `BACKPROP_THREADS` was set to something unusable, the reason it was ignored.
pub fn threads_env_problem() -> Option<&'static str> {
    config().ignored.as_deref()
}

/// Runs `f(0) … f(n_tasks - 1)` on up to `max_threads()` threads (the caller included) and returns
/// when all have finished. Each thread first runs its own contiguous share of the tasks, the same
/// share in every region of the same size, then takes what is left of the others' (see `Homes`);
/// which thread runs a task is therefore not fixed. A panic in any task is re-raised here once
/// every thread has left `f`.
pub fn parallel_for<F: Fn(usize) + Sync>(n_tasks: usize, f: F) {
    parallel_for_max(n_tasks, usize::MAX, f)
}

/// Like [`parallel_for`], but uses at most `max_threads` threads (`1` runs everything on the
/// caller, in task order).
pub fn parallel_for_max<F: Fn(usize) + Sync>(n_tasks: usize, max_threads: usize, f: F) {
    let threads = max_threads.min(self::max_threads()).min(n_tasks);
    if threads <= 1 {
        return (0..n_tasks).for_each(f);
    }
    let pool = pool();
    let _region = match pool.region.try_lock() {
        Ok(guard) => guard,
        // Poisoning cannot carry broken state here (the guard protects no data).
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => return (0..n_tasks).for_each(f),
    };
    // The caller is home 0; the workers that started are the others.
    let homes = threads.min(pool.workers + 1);
    if homes == 1 {
        return (0..n_tasks).for_each(f);
    }
    pool.shared.run(n_tasks, homes, &f);
}

/// Runs `f(i, chunk)` on each `chunk_len`-long piece of `data` (the last one shorter), on up to
/// `max_threads` threads: the safe way to hand disjoint parts of one buffer to a region's tasks.
pub fn for_each_chunk_mut<T: Send, F: Fn(usize, &mut [T]) + Sync>(data: &mut [T], chunk_len: usize, max_threads: usize, f: F) {
    let chunk_len = chunk_len.max(1);
    let len = data.len();
    let parts = Parts::new(data);
    parallel_for_max(len.div_ceil(chunk_len), max_threads, |i| {
        let start = i * chunk_len;
        // SAFETY: task i alone takes [start, start + chunk_len) ∩ [0, len).
        f(i, unsafe { parts.part(start..(start + chunk_len).min(len)) });
    });
}

/// `f` of each `chunk_len`-long range of `0..len` (the last one shorter), computed on up to
/// `max_threads` threads and returned in range order: the parts of a reduction whose result must
/// not depend on the thread count, combined by the caller in that order.
pub fn map_ranges<R: Copy + Default + Send, F: Fn(std::ops::Range<usize>) -> R + Sync>(len: usize, chunk_len: usize, max_threads: usize, f: F) -> Vec<R> {
    let chunk_len = chunk_len.max(1);
    let mut out = vec![R::default(); len.div_ceil(chunk_len)];
    for_each_chunk_mut(&mut out, 1, max_threads, |i, slot| slot[0] = f(i * chunk_len..((i + 1) * chunk_len).min(len)));
    out
}

/// A mutable buffer that a region's tasks write disjoint parts of, for work that cuts several
/// buffers the same way (chain.rs splits a batch's rows across its buffers at once).
pub struct Parts<'a, T> {
    ptr: *mut T,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: tasks only reach the buffer through `part`, whose contract keeps their parts disjoint,
// and T is Send, so each part may be written from any thread.
unsafe impl<T: Send> Sync for Parts<'_, T> {}

impl<'a, T> Parts<'a, T> {
    /// Borrows `data` mutably for as long as the parts may live.
    pub fn new(data: &'a mut [T]) -> Self {
        Parts { ptr: data.as_mut_ptr(), len: data.len(), _borrow: std::marker::PhantomData }
    }

    /// `data[range]`.
    ///
    /// # Safety
    /// No other part that overlaps `range` may be alive at the same time.
    pub unsafe fn part(&self, range: std::ops::Range<usize>) -> &'a mut [T] {
        assert!(range.start <= range.end && range.end <= self.len, "part {range:?} of a buffer of {}", self.len);
        // SAFETY: in bounds (checked above) of a buffer borrowed mutably for 'a; disjointness is
        // the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

struct Config {
    threads: usize,
    ignored: Option<String>,
}

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        match std::env::var("BACKPROP_THREADS") {
            Err(_) => Config {
                threads: cores,
                ignored: None,
            },
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Config {
                    threads: n.min(cores),
                    ignored: None,
                },
                _ => Config {
                    threads: cores,
                    ignored: Some(format!(
                        "BACKPROP_THREADS={v:?} is not a whole number >= 1; using {cores} threads"
                    )),
                },
            },
        }
    })
}

struct Pool {
    /// Held by the caller of the running region.
    region: Mutex<()>,
    shared: Arc<Shared>,
    /// Worker threads actually started (spawning may fail under resource limits).
    workers: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let shared = Arc::new(Shared::new(max_threads()));
        let mut workers = 0;
        for id in 0..max_threads().saturating_sub(1) {
            let s = Arc::clone(&shared);
            let spawned = thread::Builder::new()
                .name(format!("backprop-pool-{id}"))
                .spawn(move || s.worker_loop(id + 1));
            if spawned.is_err() {
                break;
            }
            workers += 1;
        }
        Pool {
            region: Mutex::new(()),
            shared,
            workers,
        }
    })
}

/// The region's task function with its lifetime erased; see `Shared::run` for why that is sound.
#[derive(Clone, Copy)]
struct TaskFn(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the pointee is `Sync`, and `run` keeps it alive until no worker holds the pointer.
unsafe impl Send for TaskFn {}

#[derive(Clone, Copy)]
struct Job {
    f: TaskFn,
    n_tasks: usize,
    /// Threads the region is for: the caller (home 0) and the workers of homes 1 … homes − 1.
    homes: usize,
}

impl Job {
    /// The tasks home `h` runs first.
    fn share(&self, h: usize) -> std::ops::Range<usize> {
        share(self.n_tasks, self.homes, h)
    }
}

/// Part `h` of `0..len` cut into `parts` contiguous parts as even as whole numbers allow: the
/// tasks a region's thread h runs first, and the cut of work that is to stay on one thread from
/// region to region (`gemm::k_share`).
pub fn share(len: usize, parts: usize, h: usize) -> std::ops::Range<usize> {
    len * h / parts..len * (h + 1) / parts
}

/// Where each home takes its next task from, one counter per cache line.
///
/// Why homes: training places a layer's weights, their gradient and the optimizer's slots on
/// thread h by giving it task h of each region (`gemm::Split`, `optimizers::step`), which keeps
/// them in one core's caches only if task h runs on the same thread every time. With one shared
/// counter, whichever thread came first took the first task. Taking the others' leftovers keeps
/// the balance when a core is busy with another process.
struct Homes(Vec<Padded>);

#[repr(align(128))]
#[derive(Default)]
struct Padded(AtomicUsize);

impl Homes {
    /// Opens `job`: each home starts at the beginning of its share.
    fn reset(&self, job: &Job) {
        for h in 0..job.homes {
            self.0[h].0.store(job.share(h).start, Ordering::Relaxed);
        }
    }

    /// The next task of home `h`'s share, if any is left.
    fn take(&self, job: &Job, h: usize) -> Option<usize> {
        let share = job.share(h);
        // Reading first keeps exhausted counters from growing (and lines from bouncing) when
        // every thread is looking for leftovers.
        if self.0[h].0.load(Ordering::Relaxed) >= share.end {
            return None;
        }
        let i = self.0[h].0.fetch_add(1, Ordering::Relaxed);
        (i < share.end).then_some(i)
    }
}

#[derive(Default)]
struct State {
    /// The open region; `None` once its caller has stopped admitting workers.
    job: Option<Job>,
    /// Workers currently running tasks of the region.
    inside: usize,
    /// Workers blocked on `wake` (only they need the costly futex wake-up).
    sleeping: usize,
    /// Bumped for every region, so a worker joins each region at most once.
    epoch: u64,
}

struct Shared {
    state: Mutex<State>,
    /// Workers sleep here between regions.
    wake: Condvar,
    /// The caller sleeps here until the last worker leaves the region.
    left: Condvar,
    /// Mirror of `State::epoch`, so spinning workers can poll without the lock.
    epoch: AtomicU64,
    /// Mirror of `State::inside`, so the caller can poll for the end of a region.
    inside: AtomicUsize,
    homes: Homes,
    panicked: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Shared {
    /// For regions of up to `threads` threads.
    fn new(threads: usize) -> Shared {
        Shared {
            state: Mutex::default(),
            wake: Condvar::new(),
            left: Condvar::new(),
            epoch: AtomicU64::new(0),
            inside: AtomicUsize::new(0),
            homes: Homes((0..threads.max(1)).map(|_| Padded::default()).collect()),
            panicked: AtomicBool::new(false),
            panic: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Tasks never run under this lock, so it cannot be poisoned by them.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self, n_tasks: usize, homes: usize, f: &(dyn Fn(usize) + Sync)) {
        // SAFETY: erasing the lifetime is sound because this function does not return before
        // `job` is withdrawn and `inside == 0`, i.e. before every worker has dropped the pointer.
        let f: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(f) };
        let job = Job {
            f: TaskFn(f),
            n_tasks,
            homes,
        };
        self.homes.reset(&job);
        self.panicked.store(false, Ordering::Relaxed);
        let sleeping = {
            let mut st = self.lock();
            st.epoch += 1;
            st.job = Some(job);
            self.epoch.store(st.epoch, Ordering::Release);
            st.sleeping
        };
        // A futex wake costs ~5 µs here; spinning workers see the epoch without it.
        if sleeping > 0 {
            self.wake.notify_all();
        }
        self.run_tasks(job, 0);

        // Workers that have not joined yet stay out: every task has been taken.
        self.lock().job = None;
        // The others are finishing their last task, usually within microseconds. Sleeping right
        // away would add a wake-up of this thread (~30 µs when its core has gone idle).
        poll(|| self.inside.load(Ordering::Acquire) == 0);
        let mut st = self.lock();
        while st.inside > 0 {
            st = self.left.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        drop(st);
        let payload = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(payload) = payload {
            panic::resume_unwind(payload);
        }
    }

    /// Runs home `home`'s share of `job`, then what is left of the other homes' shares.
    fn run_tasks(&self, job: Job, home: usize) {
        // SAFETY: `run` keeps the closure alive while any thread can reach this point (see there).
        let f = unsafe { &*job.f.0 };
        let mut homes = (0..job.homes).map(|o| (home + o) % job.homes);
        let mut from = homes.next();
        while let Some(h) = from {
            let Some(i) = self.homes.take(&job, h) else {
                from = homes.next();
                continue;
            };
            if self.panicked.load(Ordering::Relaxed) {
                return;
            }
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| f(i))) {
                self.panicked.store(true, Ordering::Relaxed);
                let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(payload);
            }
        }
    }

    /// The loop of the worker whose home is `home` (≥ 1): it joins the regions meant for it.
    fn worker_loop(&self, home: usize) {
        let mut seen = 0u64;
        loop {
            poll(|| self.epoch.load(Ordering::Acquire) != seen);
            let mut st = self.lock();
            let job = loop {
                if st.epoch != seen {
                    seen = st.epoch;
                    if let Some(job) = st.job.filter(|job| home < job.homes) {
                        st.inside += 1;
                        self.inside.store(st.inside, Ordering::Relaxed);
                        break job;
                    }
                }
                st.sleeping += 1;
                st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                st.sleeping -= 1;
            };
            drop(st);
            self.run_tasks(job, home);
            let mut st = self.lock();
            st.inside -= 1;
            self.inside.store(st.inside, Ordering::Release);
            if st.inside == 0 {
                self.left.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn runs_every_task_once() {
        for threads in [1, 2, 8] {
            for n in [0, 1, 2, 3, 17, 1000] {
                let hits: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
                parallel_for_max(n, threads, |i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            }
        }
    }

    /// Each thread starts on its own share: the caller on the first half of the tasks, the
    /// worker on the second (its first task may be a later one of that half if the caller,
    /// done with its own, took some before the worker woke).
    #[test]
    fn each_thread_starts_on_its_own_share() {
        if max_threads() < 2 {
            return;
        }
        let caller = thread::current().id();
        for _ in 0..10 {
            let firsts = Mutex::new(Vec::new());
            parallel_for_max(8, 2, |i| {
                let mut firsts = firsts.lock().unwrap();
                let me = thread::current().id();
                if !firsts.iter().any(|&(id, _)| id == me) {
                    firsts.push((me, i));
                }
                drop(firsts);
                thread::sleep(Duration::from_millis(1));
            });
            for (id, first) in firsts.into_inner().unwrap() {
                if id == caller {
                    assert_eq!(first, 0);
                } else {
                    assert!((4..8).contains(&first), "a worker started on task {first}");
                }
            }
        }
        assert_eq!(share(10, 3, 0), 0..3);
        assert_eq!(share(10, 3, 2), 6..10);
    }

    #[test]
    fn panic_reaches_caller_and_pool_survives() {
        for _ in 0..20 {
            let r = panic::catch_unwind(|| {
                parallel_for(64, |i| {
                    if i == 37 {
                        panic!("task 37 failed");
                    }
                })
            });
            let msg = r.unwrap_err();
            assert_eq!(msg.downcast_ref::<&str>(), Some(&"task 37 failed"));
        }
        let sum = AtomicUsize::new(0);
        parallel_for(100, |i| {
            sum.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 4950);
    }

    #[test]
    fn concurrent_and_nested_callers_finish() {
        let total = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        parallel_for(8, |_| {
                            parallel_for(4, |_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            });
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 50 * 8 * 4);
    }
}
