//! The `Network` class: a compiled network of the Rust executor (crates/kernels) owned by a
//! JavaScript object, trained a batch or an epoch per call.
//!
//! The executor lives in an `Arc<Mutex<…>>` so asynchronous work can hold it on a pool thread
//! while JavaScript drops every reference to the object. While such work runs, every other call
//! throws a "busy" error at once (no call blocks the event loop or races the work); `cancel()`
//! is the exception: it sets a flag the epoch checks between batches.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use kernels::network::{check_data, BatchLogs, TrainingData, EpochResult, Network};
use kernels::plan::Plan;
use kernels::rng::Rng;

use crate::training_data::{self, TrainingDataBox};
use crate::env::{Args, Env};
use crate::error::{JsError, JsResult};
use crate::plan_code;
use crate::shutdown;
use crate::progress::Progress;
use crate::results;
use crate::sys::*;
use crate::task::{self, Task};
use crate::typed::{self, View};
use crate::wrapped::{self, Wrapped};
use crate::js_function;

/// What holds the network besides the calling thread.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Activity {
    Idle = 0,
    TrainingAsync = 1,
    PredictingAsync = 2,
    /// A training callback runs between batches (the epoch is paused and the network unlocked):
    /// synchronous calls are allowed, as in the JS engine; starting asynchronous work is not.
    InCallback = 3,
}

impl Activity {
    fn from_u8(x: u8) -> Activity {
        match x {
            1 => Activity::TrainingAsync,
            2 => Activity::PredictingAsync,
            3 => Activity::InCallback,
            _ => Activity::Idle,
        }
    }
}

/// Largest batch working memory the executor may allocate (a garbage plan or batch size must
/// give an error, not an allocation failure, which would abort the process).
const MAX_WORKSPACE_BYTES: usize = 8 << 30;

/// The largest step count that stays exact in a JavaScript number.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub struct Shared {
    net: Mutex<Option<Network>>,
    /// The plan (immutable), for checking arguments without the lock.
    plan: Plan,
    /// Unique per network, so training data is only used with the network that checked it.
    id: u64,
    /// Set by cancel(); checked after every batch; cleared when an epoch starts.
    pub cancel: AtomicBool,
    /// An `Activity`; written on the JavaScript thread only.
    activity: AtomicU8,
    disposed: AtomicBool,
}

impl Shared {
    /// Throws unless the network is free for a synchronous call (`for_async`: for starting
    /// asynchronous work).
    fn check_available(&self, for_async: bool) -> JsResult<()> {
        if self.disposed.load(Ordering::Acquire) {
            return Err(JsError::error("the network was disposed; build a new one"));
        }
        let message = match Activity::from_u8(self.activity.load(Ordering::Acquire)) {
            Activity::Idle => return Ok(()),
            Activity::InCallback if !for_async => return Ok(()),
            Activity::InCallback => "busy: a training callback cannot start asynchronous work on its own network",
            Activity::TrainingAsync => {
                "busy: training is running (trainEpochAsync) on this network; await its promise (call cancel() to stop it sooner) before using the network"
            }
            Activity::PredictingAsync => "busy: predictAsync is running on this network; await its promise before using the network",
        };
        Err(JsError::Busy(message.into()))
    }

    /// The executor, for a synchronous call. Never blocks.
    fn lock(&self) -> JsResult<Guard<'_>> {
        self.check_available(false)?;
        let guard = match self.net.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock) => return Err(JsError::Busy("busy: training is running on this network".into())),
            Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
        };
        if guard.is_none() {
            return Err(JsError::error("the network was disposed; build a new one"));
        }
        Ok(Guard(guard))
    }

    fn set_activity(&self, activity: Activity) {
        self.activity.store(activity as u8, Ordering::Release);
    }

    /// Marks a training callback as running until the guard drops (also when a panic unwinds).
    pub fn enter_callback(&self) -> ActivityScope<'_> {
        let previous = Activity::from_u8(self.activity.swap(Activity::InCallback as u8, Ordering::AcqRel));
        ActivityScope { shared: self, previous }
    }

    fn metric_count(&self) -> usize {
        self.plan.metrics.len()
    }
}

/// See `Shared::enter_callback`.
pub struct ActivityScope<'a> {
    shared: &'a Shared,
    previous: Activity,
}

impl Drop for ActivityScope<'_> {
    fn drop(&mut self) {
        self.shared.set_activity(self.previous);
    }
}

fn poisoned() -> JsError {
    JsError::error("the network is in an unknown state after an internal error in the native core; build a new one")
}

/// A locked, present executor.
struct Guard<'a>(MutexGuard<'a, Option<Network>>);

impl Guard<'_> {
    fn net(&mut self) -> &mut Network {
        self.0.as_mut().expect("checked in Shared::lock")
    }
}

/// What a JavaScript `Network` object owns.
pub struct NetworkBox {
    shared: Arc<Shared>,
}

impl Wrapped for NetworkBox {
    const TAG: napi_type_tag = napi_type_tag { lower: 0x6261_636b_7072_6f70, upper: 0x6e65_7477_6f72_6b31 };
    const NAME: &'static str = "Network";
}

fn this(env: Env, args: &Args) -> JsResult<Arc<Shared>> {
    let raw = wrapped::unwrap::<NetworkBox>(env, args.this, "this")?;
    // SAFETY: `this` is alive for the call, so its box is too.
    Ok(Arc::clone(&unsafe { &*raw }.shared))
}

// ─── checks ──────────────────────────────────────────────────────────────────────────────────

fn require_loss(plan: &Plan) -> JsResult<()> {
    if plan.loss.is_none() {
        return Err(JsError::error("this network's plan has no loss (the model is not compiled): it can predict but not train or evaluate"));
    }
    Ok(())
}

fn require_training(plan: &Plan) -> JsResult<()> {
    require_loss(plan)?;
    if plan.optimizer.is_none() {
        return Err(JsError::error("this network's plan has no optimizer (the model is not compiled): it can predict but not train"));
    }
    Ok(())
}

/// Refuses batches whose working memory would be unreasonably large.
fn check_batch_memory(plan: &Plan, rows: usize) -> JsResult<()> {
    let per_row = plan.layers.iter().try_fold(plan.input_size + plan.target_cols() + plan.output_size, |sum, l| sum.checked_add(l.units().checked_mul(4)?));
    let bytes = per_row.and_then(|p| p.checked_mul(rows)).and_then(|b| b.checked_mul(4));
    match bytes {
        Some(b) if b <= MAX_WORKSPACE_BYTES => Ok(()),
        _ => Err(JsError::range_error(format!(
            "a batch of {rows} rows needs more than {} GiB of working memory for this network; use a smaller batch size",
            MAX_WORKSPACE_BYTES >> 30
        ))),
    }
}

fn learning_rate(env: Env, value: napi_value) -> JsResult<f64> {
    env.finite(value, "learningRate", 0.0, f64::MAX)
}

fn invalid(message: String) -> JsError {
    JsError::range_error(message)
}

// ─── the class ───────────────────────────────────────────────────────────────────────────────

/// Defines the `Network` class.
pub fn define_class(env: Env) -> JsResult<napi_value> {
    macro_rules! method {
        ($name:literal, $f:ident) => {
            napi_property_descriptor {
                utf8name: $name.as_ptr(),
                name: ptr::null_mut(),
                method: Some($f),
                getter: None,
                setter: None,
                value: ptr::null_mut(),
                attributes: NAPI_WRITABLE | NAPI_CONFIGURABLE,
                data: ptr::null_mut(),
            }
        };
    }
    js_function!(read_state_js => read_state);
    js_function!(write_state_js => write_state);
    js_function!(create_training_data_js => create_training_data);
    js_function!(refresh_training_data_js => refresh_training_data);
    js_function!(gather_training_data_js => gather_training_data);
    js_function!(train_batch_js => train_batch);
    js_function!(train_epoch_js => train_epoch);
    js_function!(train_epoch_async_js => train_epoch_async);
    js_function!(cancel_js => cancel);
    js_function!(set_threads_js => set_threads);
    js_function!(set_distributed_js => set_distributed);
    js_function!(evaluate_js => evaluate);
    js_function!(predict_js => predict);
    js_function!(predict_async_js => predict_async);
    js_function!(predict_into_js => predict_into);
    js_function!(compute_gradients_js => compute_gradients);
    js_function!(dispose_js => dispose);
    js_function!(construct_js => construct);
    let methods = [
        method!(c"readState", read_state_js),
        method!(c"writeState", write_state_js),
        method!(c"createTrainingData", create_training_data_js),
        method!(c"refreshTrainingData", refresh_training_data_js),
        method!(c"gatherTrainingData", gather_training_data_js),
        method!(c"trainBatch", train_batch_js),
        method!(c"trainEpoch", train_epoch_js),
        method!(c"trainEpochAsync", train_epoch_async_js),
        method!(c"cancel", cancel_js),
        method!(c"setThreads", set_threads_js),
        method!(c"setDistributed", set_distributed_js),
        method!(c"evaluate", evaluate_js),
        method!(c"predict", predict_js),
        method!(c"predictAsync", predict_async_js),
        method!(c"predictInto", predict_into_js),
        method!(c"computeGradients", compute_gradients_js),
        method!(c"dispose", dispose_js),
    ];
    let name = c"Network";
    let mut class = ptr::null_mut();
    // SAFETY: the descriptors and name outlive the call; Node copies what it keeps.
    env.check(unsafe { napi_define_class(env.0, name.as_ptr(), name.to_bytes().len(), Some(construct_js), ptr::null_mut(), methods.len(), methods.as_ptr(), &mut class) })?;
    Ok(class)
}

/// new Network(planCode, params, stats, slots, step, rng)
fn construct(env: Env, args: &Args) -> JsResult<napi_value> {
    if args.new_target.is_null() {
        return Err(JsError::type_error("Class constructor Network cannot be invoked without 'new'"));
    }
    let code = typed::read::<f64>(env, args.get(0), "planCode")?;
    let params = typed::read::<f32>(env, args.get(1), "params")?;
    let stats = typed::read::<f32>(env, args.get(2), "stats")?;
    let slots = typed::read::<f32>(env, args.get(3), "slots")?;
    let step = env.integer(args.get(4), "step", 0, MAX_SAFE_INTEGER)?;
    let rng = typed::read_exact::<u32>(env, args.get(5), "rng", 4, "the four words of the PRNG state")?;
    // SAFETY: every argument is read; nothing runs JavaScript while these copies are made.
    let (plan, params, stats, slots, rng) = unsafe {
        let plan = plan_code::decode(&code)?;
        let r = rng.slice();
        (plan, params.to_vec()?, stats.to_vec()?, slots.to_vec()?, [r[0], r[1], r[2], r[3]])
    };
    let net = Network::new(plan.clone(), params, stats, slots, step, rng).map_err(invalid)?;
    let shared = Arc::new(Shared {
        net: Mutex::new(Some(net)),
        plan,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        cancel: AtomicBool::new(false),
        activity: AtomicU8::new(Activity::Idle as u8),
        disposed: AtomicBool::new(false),
    });
    wrapped::wrap(env, args.this, NetworkBox { shared })?;
    Ok(args.this)
}

/// readState() → { params, stats, slots, step, rng } (copies)
fn read_state(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let (params, stats, slots, step, rng) = {
        let mut guard = shared.lock()?;
        let net = guard.net();
        (
            typed::from_slice(env, net.params(), "params")?,
            typed::from_slice(env, &net.stats, "stats")?,
            typed::from_slice(env, net.slots(), "slots")?,
            env.double(net.step as f64)?,
            typed::from_slice(env, &net.rng.state, "rng")?,
        )
    };
    let object = env.object()?;
    env.set(object, c"params", params)?;
    env.set(object, c"stats", stats)?;
    env.set(object, c"slots", slots)?;
    env.set(object, c"step", step)?;
    env.set(object, c"rng", rng)?;
    Ok(object)
}

/// writeState({ params?, stats?, slots?, step?, rng? }): checks every part, then copies them in.
fn write_state(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let plan = &shared.plan;
    let Some(state) = env.options(args.get(0), "state")? else {
        return Err(JsError::type_error("writeState needs a state object { params?, stats?, slots?, step?, rng? }, got undefined"));
    };
    // Properties first: reading them may run getters.
    let values = [c"params", c"stats", c"slots", c"step", c"rng"].map(|name| env.get(state, name));
    let [params, stats, slots, step, rng] = values;
    let (params, stats, slots, step, rng) = (params?, stats?, slots?, step?, rng?);
    let present = |v| !env.is_nullish(v);
    let slot_len = plan.slot_count() * plan.param_count;
    let params = present(params).then(|| typed::read_exact::<f32>(env, params, "state.params", plan.param_count, "the plan's paramCount")).transpose()?;
    let stats = present(stats).then(|| typed::read_exact::<f32>(env, stats, "state.stats", plan.stat_count, "the plan's statCount")).transpose()?;
    let slots = present(slots).then(|| typed::read_exact::<f32>(env, slots, "state.slots", slot_len, "slot count × paramCount")).transpose()?;
    let step = present(step).then(|| env.integer(step, "state.step", 0, MAX_SAFE_INTEGER)).transpose()?;
    let rng = present(rng).then(|| typed::read_exact::<u32>(env, rng, "state.rng", 4, "the four words of the PRNG state")).transpose()?;
    let mut guard = shared.lock()?;
    let net = guard.net();
    // SAFETY: all arguments are read; the network's own buffers never alias JavaScript memory.
    unsafe {
        if let Some(v) = &params {
            net.set_params(v.slice());
        }
        if let Some(v) = &stats {
            net.stats.copy_from_slice(v.slice());
        }
        if let Some(v) = &slots {
            net.set_slots(v.slice());
        }
        if let Some(v) = &rng {
            let r = v.slice();
            net.rng = Rng::new([r[0], r[1], r[2], r[3]]);
        }
    }
    if let Some(step) = step {
        net.step = step;
    }
    drop(guard);
    env.undefined()
}

/// Reads x (rows × inputs) and y (rows × target columns).
fn rows_of(env: Env, plan: &Plan, x: napi_value, y: napi_value, rows: usize) -> JsResult<(View<f32>, View<f32>)> {
    let n_in = rows.checked_mul(plan.input_size).ok_or_else(|| JsError::range_error(format!("rows {rows} is too large")))?;
    let n_y = rows.checked_mul(plan.target_cols()).ok_or_else(|| JsError::range_error(format!("rows {rows} is too large")))?;
    let x = typed::read_exact::<f32>(env, x, "x", n_in, &format!("rows × inputs = {rows} × {}", plan.input_size))?;
    let y = typed::read_exact::<f32>(env, y, "y", n_y, &format!("rows × target columns = {rows} × {}", plan.target_cols()))?;
    Ok((x, y))
}

/// Optional sample weights: undefined or null for none, else a Float32Array of one per row.
fn weights_of(env: Env, value: napi_value, rows: usize) -> JsResult<Option<View<f32>>> {
    if env.is_nullish(value) {
        return Ok(None);
    }
    typed::read_exact::<f32>(env, value, "sampleWeight", rows, "one weight per row").map(Some)
}

/// createTrainingData(x, y, rows, sampleWeight?) → an opaque TrainingData holding a checked copy.
fn create_training_data(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    if shared.disposed.load(Ordering::Acquire) {
        return Err(JsError::error("the network was disposed; build a new one"));
    }
    require_loss(&shared.plan)?;
    let rows = env.size(args.get(2), "rows", 0)?;
    let (x, y) = rows_of(env, &shared.plan, args.get(0), args.get(1), rows)?;
    let w = weights_of(env, args.get(3), rows)?;
    // SAFETY: all arguments are read; no JavaScript runs during the copy.
    unsafe { training_data::create(env, &shared.plan, shared.id, &x, &y, w.as_ref(), rows) }
}

/// refreshTrainingData(data, x, y, sampleWeight?) → whether the copy changed: brings training data
/// up to date with the arrays it was created from (which JavaScript may have changed since).
fn refresh_training_data(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    shared.check_available(false)?;
    let data = training_data::unwrap(env, args.get(0), "data", shared.id)?;
    let rows = data.data.rows;
    let (x, y) = rows_of(env, &shared.plan, args.get(1), args.get(2), rows)?;
    let w = weights_of(env, args.get(3), rows)?;
    let threads = shared.lock()?.net().max_threads;
    // SAFETY: all arguments are read; the training data's copy never aliases JavaScript memory.
    let changed = unsafe { training_data::refresh(data, &shared.plan, &x, &y, w.as_ref(), threads)? };
    env.boolean(changed)
}

/// gatherTrainingData(data, x, y, sampleWeight, order) → undefined: replaces the rows of `data`
/// with rows order[0..] of the datasets x, y and sampleWeight (null for none). It reads only
/// `data`, never the network's state, so it may run while the network trains other data.
fn gather_training_data(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    if shared.disposed.load(Ordering::Acquire) {
        return Err(JsError::error("the network was disposed; build a new one"));
    }
    let data = training_data::unwrap(env, args.get(0), "data", shared.id)?;
    let x = typed::read::<f32>(env, args.get(1), "x")?;
    let y = typed::read::<f32>(env, args.get(2), "y")?;
    let w = if env.is_nullish(args.get(3)) { None } else { Some(typed::read::<f32>(env, args.get(3), "sampleWeight")?) };
    let order = typed::read::<u32>(env, args.get(4), "order")?;
    // SAFETY: all arguments are read; the training data's copy never aliases JavaScript memory.
    unsafe { training_data::gather(env, data, &shared.plan, &x, &y, w.as_ref(), &order)? };
    env.undefined()
}

/// trainBatch(x, y, rows, learningRate, sampleWeight?) → { loss, metrics, diverged }
fn train_batch(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let plan = &shared.plan;
    require_training(plan)?;
    let rows = env.size(args.get(2), "rows", 1)?;
    let lr = learning_rate(env, args.get(3))?;
    check_batch_memory(plan, rows)?;
    let (x, y) = rows_of(env, plan, args.get(0), args.get(1), rows)?;
    let w = weights_of(env, args.get(4), rows)?;
    let (stats, diverged) = {
        let mut guard = shared.lock()?;
        // SAFETY: all arguments are read; the executor copies the rows into its own workspace
        // and no JavaScript runs until it returns.
        let (xs, ys) = unsafe { (x.slice(), y.slice()) };
        let ws = w.as_ref().map_or(&[][..], |w| unsafe { w.slice() });
        check_data(plan, xs, ys, ws, rows).map_err(invalid)?;
        guard.net().reserve_workspace(rows).map_err(JsError::range_error)?;
        guard.net().train_batch(xs, ys, ws, rows, lr)
    };
    results::batch(env, &stats, shared.metric_count(), diverged.as_deref())
}

/// The arguments both epoch forms take: (data, batchSize, shuffle, learningRate, callback?).
struct EpochArgs {
    data: Arc<TrainingData>,
    batch_size: usize,
    shuffle: bool,
    lr: f64,
    /// Per-batch rates when learningRate was a Float64Array (a schedule stepping per batch).
    rates: Vec<f64>,
    callback: Option<napi_value>,
}

fn epoch_args(env: Env, args: &Args, shared: &Shared) -> JsResult<EpochArgs> {
    require_training(&shared.plan)?;
    let data: &TrainingDataBox = training_data::unwrap(env, args.get(0), "data", shared.id)?;
    let data = Arc::clone(&data.data);
    let batch_size = env.size(args.get(1), "batchSize", 1)?;
    let shuffle = env.boolean_arg(args.get(2), "shuffle")?;
    let (lr, rates) = if typed::array_type_name(env, args.get(3)).is_some() {
        let view = typed::read::<f64>(env, args.get(3), "learningRate")?;
        // SAFETY: read on the JavaScript thread during this call; copied before any work starts.
        let rates = typed::copy_of(unsafe { view.slice() })?;
        if let Some((i, r)) = rates.iter().enumerate().find(|(_, r)| !(r.is_finite() && **r >= 0.0)) {
            return Err(JsError::range_error(format!("learningRate[{i}] is {r}; learning rates must be finite and ≥ 0")));
        }
        // Batches past the end of the array keep its last rate, as in the JS engine.
        (rates.last().copied().unwrap_or(0.0), rates)
    } else {
        (learning_rate(env, args.get(3))?, Vec::new())
    };
    let callback = env.optional_function(args.get(4), "the callback")?;
    check_batch_memory(&shared.plan, batch_size.min(data.rows))?;
    Ok(EpochArgs { data, batch_size, shuffle, lr, rates, callback })
}

/// trainEpoch(data, batchSize, shuffle, learningRate, onBatch?) → EpochResult, on this
/// thread. `onBatch(batch, loss, metrics)` runs after each batch, with the network unlocked
/// (it may use it, as in the JS engine); returning true (or calling cancel()) stops.
fn train_epoch(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let a = epoch_args(env, args, &shared)?;
    shared.cancel.store(false, Ordering::Release);
    shared.lock()?.net().reserve_workspace(a.batch_size.min(a.data.rows)).map_err(JsError::range_error)?;
    let mut epoch = shared.lock()?.net().begin_epoch(a.data.rows, a.batch_size, a.shuffle, a.lr).with_rates(a.rates);
    let mut thrown = false;
    loop {
        let step = {
            // The callback may have disposed the network: then the epoch ends here.
            let Ok(mut guard) = shared.lock() else { break };
            guard.net().epoch_step(&a.data, &mut epoch)
        };
        let Some((batch, stats)) = step else { break };
        let mut stop = false;
        if let Some(f) = a.callback {
            let _between = shared.enter_callback();
            match call_batch_callback(env, f, batch, &stats, shared.metric_count()) {
                Ok(s) => stop = s,
                Err(_) => thrown = true,
            }
        }
        if stop || thrown || shared.cancel.load(Ordering::Acquire) {
            epoch.stop();
            break;
        }
    }
    let result = {
        let mut guard = shared.net.try_lock().map_err(|_| poisoned())?;
        let net = guard.as_mut().ok_or_else(|| JsError::error("the network was disposed during the epoch"))?;
        let result = net.finish_epoch(epoch);
        // dispose() from a callback waits for the epoch to end.
        if shared.disposed.load(Ordering::Acquire) {
            *guard = None;
        }
        result
    };
    if thrown {
        return Err(JsError::Pending);
    }
    results::epoch(env, &result, shared.metric_count())
}

/// Calls `f(batch, loss, metrics)` in its own handle scope; returns whether it returned true.
fn call_batch_callback(env: Env, f: napi_value, batch: usize, stats: &BatchLogs, metric_count: usize) -> JsResult<bool> {
    env.scoped(|| {
        let values = [env.double(batch as f64)?, env.double(stats.loss)?, env.numbers(&stats.metrics[..metric_count])?];
        let returned = env.call(f, &values)?;
        Ok(env.type_of(returned) == NAPI_BOOLEAN && env.boolean_arg(returned, "the callback's result")?)
    })
}

/// An epoch on a pool thread, locking the network for each batch.
struct TrainJob {
    shared: Arc<Shared>,
    data: Arc<TrainingData>,
    batch_size: usize,
    shuffle: bool,
    lr: f64,
    rates: Vec<f64>,
    progress: Option<Progress>,
}

impl TrainJob {
    fn lock(&self) -> Result<MutexGuard<'_, Option<Network>>, JsError> {
        // Uncontended: the activity flag keeps JavaScript away, except a lockstep callback,
        // which runs only while this thread waits with the lock released.
        let guard = self.shared.net.lock().map_err(|_| poisoned())?;
        if guard.is_none() {
            return Err(JsError::error("the network was disposed; build a new one"));
        }
        Ok(guard)
    }
}

impl Task for TrainJob {
    type Output = Result<EpochResult, JsError>;

    fn run(&mut self) -> Self::Output {
        self.lock()?.as_mut().unwrap().reserve_workspace(self.batch_size.min(self.data.rows)).map_err(JsError::range_error)?;
        let rates = std::mem::take(&mut self.rates);
        let mut epoch = self.lock()?.as_mut().unwrap().begin_epoch(self.data.rows, self.batch_size, self.shuffle, self.lr).with_rates(rates);
        loop {
            let step = self.lock()?.as_mut().unwrap().epoch_step(&self.data, &mut epoch);
            let Some((batch, stats)) = step else { break };
            let listening = self.progress.as_ref().is_none_or(|p| p.batch(batch, &stats));
            if !listening || self.shared.cancel.load(Ordering::Acquire) || shutdown::exiting() {
                epoch.stop();
                break;
            }
        }
        let mut guard = self.lock()?;
        let result = guard.as_mut().unwrap().finish_epoch(epoch);
        if self.shared.disposed.load(Ordering::Acquire) {
            *guard = None;
        }
        Ok(result)
    }

    fn complete(self, env: Env, deferred: napi_deferred, output: Result<Self::Output, JsError>) {
        self.shared.set_activity(Activity::Idle);
        let result = output.and_then(|r| r);
        match &self.progress {
            Some(progress) => progress.finish(env, deferred, result),
            None => task::settle(env, deferred, result.and_then(|r| results::epoch(env, &r, self.shared.metric_count()))),
        }
    }
}

/// trainEpochAsync(data, batchSize, shuffle, learningRate, onBatch?, lockstep?) → Promise
/// of the EpochResult. The epoch runs on the libuv pool. `onBatch(batch, loss, metrics)` runs on
/// the JavaScript thread after each batch: as a notification while training goes on, or, with
/// `lockstep` true, between batches while the pool thread waits (as trainEpoch's callback).
/// Its result is ignored: call cancel() to stop.
fn train_epoch_async(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    shared.check_available(true)?;
    let a = epoch_args(env, args, &shared)?;
    let lockstep = env.optional_boolean(args.get(5), "lockstep", false)?;
    shared.cancel.store(false, Ordering::Release);
    let progress = match a.callback {
        Some(f) => Some(Progress::new(env, f, Arc::clone(&shared), shared.metric_count(), lockstep)?),
        None => None,
    };
    let job = TrainJob { shared: Arc::clone(&shared), data: a.data, batch_size: a.batch_size, shuffle: a.shuffle, lr: a.lr, rates: a.rates, progress };
    let promise = task::spawn(env, "backprop trainEpochAsync", job)?;
    shared.set_activity(Activity::TrainingAsync);
    Ok(promise)
}

/// cancel(): stops a running epoch after its current batch (also from inside its callbacks).
fn cancel(env: Env, args: &Args) -> JsResult<napi_value> {
    this(env, args)?.cancel.store(true, Ordering::Release);
    env.undefined()
}

/// setThreads(n): this network's work uses at most n pool threads (1: the calling thread only,
/// for networks training side by side); the pool's size (BACKPROP_THREADS) still caps it.
fn set_threads(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let threads = env.size(args.get(0), "threads", 1)?;
    shared.lock()?.net().max_threads = threads;
    env.undefined()
}

/// setDistributed(enabled): trains as one process of an MPI data-parallel run (gradients, losses
/// and metrics summed over the processes, each training its part of every batch), or alone.
fn set_distributed(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let collective: Option<Arc<dyn kernels::collective::Collective>> = if env.boolean_arg(args.get(0), "enabled")? {
        Some(crate::mpi::get().map_err(JsError::error)?)
    } else {
        None
    };
    shared.lock()?.net().set_collective(collective);
    env.undefined()
}

/// evaluate(data, batchSize) → { loss, metrics } in inference mode.
fn evaluate(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    require_loss(&shared.plan)?;
    let data: &TrainingDataBox = training_data::unwrap(env, args.get(0), "data", shared.id)?;
    let data = Arc::clone(&data.data);
    let batch_size = env.size(args.get(1), "batchSize", 1)?;
    check_batch_memory(&shared.plan, batch_size.min(data.rows))?;
    shared.lock()?.net().reserve_workspace(batch_size.min(data.rows)).map_err(JsError::range_error)?;
    let stats = shared.lock()?.net().evaluate(&data, batch_size);
    results::evaluation(env, &stats, shared.metric_count())
}

/// Reads predict's arguments: (x, rows, batchSize).
fn predict_args(env: Env, args: &Args, plan: &Plan) -> JsResult<(View<f32>, usize, usize)> {
    let rows = env.size(args.get(1), "rows", 0)?;
    let batch_size = env.size(args.get(2), "batchSize", 1)?;
    check_batch_memory(plan, batch_size.min(rows))?;
    let n_in = rows.checked_mul(plan.input_size).ok_or_else(|| JsError::range_error(format!("rows {rows} is too large")))?;
    let x = typed::read_exact::<f32>(env, args.get(0), "x", n_in, &format!("rows × inputs = {rows} × {}", plan.input_size))?;
    Ok((x, rows, batch_size))
}

fn output_len(plan: &Plan, rows: usize) -> JsResult<usize> {
    rows.checked_mul(plan.output_size).ok_or_else(|| JsError::range_error(format!("rows × outputs = {rows} × {} is too large", plan.output_size)))
}

/// predict(x, rows, batchSize) → outputs (rows × outputSize) in inference mode.
fn predict(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let plan = &shared.plan;
    let (x, rows, batch_size) = predict_args(env, args, plan)?;
    let out = typed::create::<f32>(env, output_len(plan, rows)?, "the prediction")?;
    let mut guard = shared.lock()?;
    // SAFETY: all arguments are read and `out` is a fresh array, so it aliases nothing.
    guard.net().reserve_workspace(batch_size.min(rows)).map_err(JsError::range_error)?;
    let (inputs, result) = (plan.input_size, unsafe { guard.net().predict(x.slice(), rows, batch_size, out.slice_mut()) });
    // SAFETY: as above; x is still borrowed.
    result.map_err(|i| not_finite(inputs, i, unsafe { x.slice() }[i]))?;
    Ok(out.value)
}

/// The error for x[i] not finite, worded as the TypeScript checks word it: `x[row][column] is NaN`.
fn not_finite(inputs: usize, i: usize, value: f32) -> JsError {
    let shown = if value.is_nan() { "NaN" } else if value > 0.0 { "Infinity" } else { "-Infinity" };
    JsError::range_error(format!("x[{}][{}] is {shown}; data must be finite numbers", i / inputs, i % inputs))
}

/// predictInto(x, rows, out): outputs (rows × outputSize) in inference mode written into `out`,
/// as one batch, allocating nothing: for callers answering a row at a time (a server), where a
/// fresh output array per call is a measurable part of a ~10 µs prediction.
fn predict_into(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let plan = &shared.plan;
    let rows = env.size(args.get(1), "rows", 0)?;
    check_batch_memory(plan, rows)?;
    let n_in = rows.checked_mul(plan.input_size).ok_or_else(|| JsError::range_error(format!("rows {rows} is too large")))?;
    let x = typed::read_exact::<f32>(env, args.get(0), "x", n_in, &format!("rows × inputs = {rows} × {}", plan.input_size))?;
    let out = typed::read_exact::<f32>(env, args.get(2), "out", output_len(plan, rows)?, &format!("rows × outputs = {rows} × {}", plan.output_size))?;
    if x.overlaps(&out) {
        return Err(JsError::range_error("x and out share memory; pass an output array of its own"));
    }
    let mut guard = shared.lock()?;
    // SAFETY: all arguments are read, and x and out do not overlap.
    let result = unsafe { guard.net().predict(x.slice(), rows, rows.max(1), out.slice_mut()) };
    // SAFETY: as above.
    result.map_err(|i| not_finite(plan.input_size, i, unsafe { x.slice() }[i]))?;
    env.undefined()
}

/// A prediction on a pool thread, over a copy of the inputs.
struct PredictJob {
    shared: Arc<Shared>,
    x: Vec<f32>,
    rows: usize,
    batch_size: usize,
}

impl Task for PredictJob {
    type Output = Result<Vec<f32>, JsError>;

    fn run(&mut self) -> Self::Output {
        let mut guard = self.shared.net.lock().map_err(|_| poisoned())?;
        let Some(net) = guard.as_mut() else {
            return Err(JsError::error("the network was disposed; build a new one"));
        };
        let mut out = Vec::new();
        out.try_reserve_exact(self.rows * self.shared.plan.output_size)
            .map_err(|_| JsError::range_error("not enough memory for the prediction"))?;
        out.resize(self.rows * self.shared.plan.output_size, 0.0);
        net.reserve_workspace(self.batch_size.min(self.rows)).map_err(JsError::range_error)?;
        let result = net.predict(&self.x, self.rows, self.batch_size, &mut out);
        if self.shared.disposed.load(Ordering::Acquire) {
            *guard = None;
        }
        result.map_err(|i| not_finite(self.shared.plan.input_size, i, self.x[i]))?;
        Ok(out)
    }

    fn complete(self, env: Env, deferred: napi_deferred, output: Result<Self::Output, JsError>) {
        self.shared.set_activity(Activity::Idle);
        task::settle(env, deferred, output.and_then(|r| r).and_then(|out| typed::from_slice(env, &out, "the prediction")));
    }
}

/// predictAsync(x, rows, batchSize) → Promise of the outputs; x is copied first.
fn predict_async(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    shared.check_available(true)?;
    let (x, rows, batch_size) = predict_args(env, args, &shared.plan)?;
    output_len(&shared.plan, rows)?;
    // SAFETY: all arguments are read; the copy is what the job reads.
    let x = unsafe { x.to_vec() }?;
    let promise = task::spawn(env, "backprop predictAsync", PredictJob { shared: Arc::clone(&shared), x, rows, batch_size })?;
    shared.set_activity(Activity::PredictingAsync);
    Ok(promise)
}

/// computeGradients(x, y, rows, sampleWeight?) → { loss, gradients }: changes no state.
fn compute_gradients(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    let plan = &shared.plan;
    require_loss(plan)?;
    let rows = env.size(args.get(2), "rows", 1)?;
    check_batch_memory(plan, rows)?;
    let (x, y) = rows_of(env, plan, args.get(0), args.get(1), rows)?;
    let w = weights_of(env, args.get(3), rows)?;
    let (loss, gradients) = {
        let mut guard = shared.lock()?;
        // SAFETY: as in train_batch.
        let (xs, ys) = unsafe { (x.slice(), y.slice()) };
        let ws = w.as_ref().map_or(&[][..], |w| unsafe { w.slice() });
        check_data(plan, xs, ys, ws, rows).map_err(invalid)?;
        guard.net().reserve_workspace(rows).map_err(JsError::range_error)?;
        guard.net().compute_gradients(xs, ys, ws, rows)
    };
    let object = env.object()?;
    env.set(object, c"loss", env.double(loss)?)?;
    env.set(object, c"gradients", typed::from_slice(env, &gradients, "gradients")?)?;
    Ok(object)
}

/// dispose(): frees the executor now, or when running work finishes (which it cancels).
fn dispose(env: Env, args: &Args) -> JsResult<napi_value> {
    let shared = this(env, args)?;
    if shared.disposed.swap(true, Ordering::AcqRel) {
        return env.undefined();
    }
    shared.cancel.store(true, Ordering::Release);
    if Activity::from_u8(shared.activity.load(Ordering::Acquire)) == Activity::Idle {
        if let Ok(mut guard) = shared.net.try_lock() {
            *guard = None;
        }
    }
    env.undefined()
}
