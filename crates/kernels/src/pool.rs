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
fn poll(mut done: impl FnMut() -> bool) -> bool {
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

/// The open region's job, and the line workers poll for it: one cache line, so that a worker
/// waiting on another core fetches both in one transfer.
#[repr(align(128))]
struct Slot {
    /// The epoch of the open region, 0 while none is open (between regions, and once its caller
    /// has taken every task). A worker joins region e only while this reads e.
    open: AtomicU64,
    /// The open region's job: written by its caller before it opens the region, read by the
    /// workers that joined it (see `Shared::run` for why no write races a read).
    job: std::cell::UnsafeCell<Option<Job>>,
}

/// Who sleeps: read on every region, written only around sleeping, on a line of their own.
#[repr(align(128))]
#[derive(Default)]
struct Sleepers {
    /// Workers asleep on `wake` (or about to check whether to sleep).
    workers: AtomicUsize,
    /// Whether the caller sleeps on `left` (or is about to).
    caller: AtomicBool,
}

/// How the caller and the workers meet, with as few cache lines crossing between cores as a
/// region allows: on a machine whose two cores sit on different dies each crossing costs about
/// half a microsecond, and training runs ten regions a batch. The caller publishes the job and
/// opens the region in `slot`, a polling worker counts itself in `inside` and joins if the
/// region is still open, and the caller waits for `inside` to come back to 0. The mutex and the
/// condition variables are used only by threads that go to sleep (after `SPIN`) and by those
/// waking them. (Meeting through a mutex, taken to join and again to leave, cost 2–3 µs a region
/// between dies, against 0.5 µs for a cache line's round trip.)
///
/// The counters pair a store with a load on both sides (`SeqCst`), so that of two threads at
/// least one sees the other's store: a worker that counts itself in after the caller closed the
/// region sees it closed and leaves without touching the job; a thread about to sleep is seen by
/// the one that would wake it, or sees what it waits for and does not sleep.
struct Shared {
    slot: Slot,
    /// Workers that counted themselves into the current region (joined it, or are finding it
    /// closed); the caller returns, and reuses `slot`, only once it is 0.
    inside: Padded,
    sleepers: Sleepers,
    /// The last region's epoch (only the caller holding the pool's region lock writes it).
    epoch: AtomicU64,
    sleep: Mutex<()>,
    /// Workers sleep here between regions.
    wake: Condvar,
    /// The caller sleeps here until the last worker leaves the region.
    left: Condvar,
    homes: Homes,
    panicked: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: `slot.job` is written only by a region's caller while no worker can read it, and read
// only by workers inside the open region (see `Shared::run`); everything else is atomics and
// locks.
unsafe impl Sync for Shared {}

impl Shared {
    /// For regions of up to `threads` threads.
    fn new(threads: usize) -> Shared {
        Shared {
            slot: Slot { open: AtomicU64::new(0), job: std::cell::UnsafeCell::new(None) },
            inside: Padded::default(),
            sleepers: Sleepers::default(),
            epoch: AtomicU64::new(0),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            left: Condvar::new(),
            homes: Homes((0..threads.max(1)).map(|_| Padded::default()).collect()),
            panicked: AtomicBool::new(false),
            panic: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // Tasks never run under this lock, so it cannot be poisoned by them.
        self.sleep.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self, n_tasks: usize, homes: usize, f: &(dyn Fn(usize) + Sync)) {
        // SAFETY: erasing the lifetime is sound because this function does not return before
        // the region is closed and `inside == 0`, i.e. before every worker has dropped the
        // pointer (a worker that counts itself in later finds the region closed).
        let f: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(f) };
        let job = Job {
            f: TaskFn(f),
            n_tasks,
            homes,
        };
        self.homes.reset(&job);
        self.panicked.store(false, Ordering::Relaxed);
        // SAFETY: no worker reads the job now: the last region was closed and `inside` came
        // back to 0 before its caller returned, and a worker reads the job only after counting
        // itself in and seeing the region that the store below opens.
        unsafe { *self.slot.job.get() = Some(job) };
        let epoch = self.epoch.load(Ordering::Relaxed) + 1;
        self.epoch.store(epoch, Ordering::Relaxed);
        self.slot.open.store(epoch, Ordering::SeqCst);
        // A futex wake costs ~5 µs here; spinning workers see the region without it.
        if self.sleepers.workers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock();
            self.wake.notify_all();
        }
        self.run_tasks(job, 0);

        // Workers that have not joined yet stay out: every task has been taken.
        self.slot.open.store(0, Ordering::SeqCst);
        // The others are finishing their last task, usually within microseconds. Sleeping right
        // away would add a wake-up of this thread (~30 µs when its core has gone idle).
        if !poll(|| self.inside.0.load(Ordering::SeqCst) == 0) {
            let mut guard = self.lock();
            self.sleepers.caller.store(true, Ordering::SeqCst);
            while self.inside.0.load(Ordering::SeqCst) > 0 {
                guard = self.left.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
            self.sleepers.caller.store(false, Ordering::Relaxed);
        }
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

    /// The epoch of an open region newer than `seen`, once there is one: polled for `SPIN`,
    /// then asleep on `wake`.
    fn next_region(&self, seen: u64) -> u64 {
        let fresh = |open: u64| (open != 0 && open != seen).then_some(open);
        let mut found = None;
        if poll(|| {
            found = fresh(self.slot.open.load(Ordering::Acquire));
            found.is_some()
        }) {
            return found.expect("poll returned when a region was found");
        }
        let mut guard = self.lock();
        self.sleepers.workers.fetch_add(1, Ordering::SeqCst);
        let epoch = loop {
            if let Some(epoch) = fresh(self.slot.open.load(Ordering::SeqCst)) {
                break epoch;
            }
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        };
        self.sleepers.workers.fetch_sub(1, Ordering::Relaxed);
        epoch
    }

    /// The loop of the worker whose home is `home` (≥ 1): it joins the regions meant for it.
    fn worker_loop(&self, home: usize) {
        let mut seen = 0u64;
        loop {
            let epoch = self.next_region(seen);
            seen = epoch;
            self.inside.0.fetch_add(1, Ordering::SeqCst);
            // Still open: its caller now waits for this worker before it returns.
            if self.slot.open.load(Ordering::SeqCst) == epoch {
                // SAFETY: the job stays as it is while this worker is inside the open region.
                let job = unsafe { *self.slot.job.get() }.expect("an open region has a job");
                if home < job.homes {
                    self.run_tasks(job, home);
                }
            }
            if self.inside.0.fetch_sub(1, Ordering::SeqCst) == 1 && self.sleepers.caller.load(Ordering::SeqCst) {
                let _guard = self.lock();
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

    /// Regions back to back, and after pauses long enough for the workers to fall asleep: every
    /// task runs once, and the caller sees every task's plain (non-atomic) writes on return.
    #[test]
    fn back_to_back_and_sleeping_regions_see_every_write() {
        let mut values = vec![0u64; 64];
        for round in 1..=3000u64 {
            let threads = [2, 8, 2, 1][round as usize % 4];
            let tasks = 1 + (round as usize * 7) % 64;
            for_each_chunk_mut(&mut values[..tasks], 1, threads, |i, v| v[0] = round * 100 + i as u64);
            for (i, &v) in values[..tasks].iter().enumerate() {
                assert_eq!(v, round * 100 + i as u64, "round {round}, task {i} of {tasks} on {threads} threads");
            }
            if round % 500 == 0 {
                // Past SPIN: the workers go to sleep and the next region has to wake them.
                thread::sleep(SPIN * 3);
                // (Other tests' regions may hold the pool, and then this one runs on the caller
                // alone: a few tries.)
                if max_threads() >= 2 {
                    assert!((0..10).any(|_| threads_that_run(4) == 2), "a sleeping worker was not woken (round {round})");
                }
            }
        }
    }

    /// How many threads run a region of `tasks` tasks on two threads, each task waiting (up to
    /// 200 ms) until two threads have started.
    fn threads_that_run(tasks: usize) -> usize {
        let ids = Mutex::new(Vec::new());
        let deadline = Instant::now() + Duration::from_millis(200);
        parallel_for_max(tasks, 2, |_| {
            let me = thread::current().id();
            let mut seen = ids.lock().unwrap();
            if !seen.contains(&me) {
                seen.push(me);
            }
            drop(seen);
            while ids.lock().unwrap().len() < 2 && Instant::now() < deadline {
                thread::sleep(Duration::from_micros(100));
            }
        });
        ids.into_inner().unwrap().len()
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
