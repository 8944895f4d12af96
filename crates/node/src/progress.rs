//! Progress of asynchronous training, delivered to a JavaScript callback through a thread-safe
//! function, in one of two modes:
//! - notification: the pool thread queues one message per batch and goes on (the callback runs
//!   later, while training continues);
//! - lockstep: the pool thread waits after each batch until the callback has run, with the
//!   network unlocked, so the callback runs between batches as in the JS engine (it may read or
//!   change the network, and stopping takes effect right after that batch).
//!
//! The promise is settled through the same queue, after the last batch message, so the callback
//! never runs after the promise has settled. A callback that throws stops the epoch (as cancel()
//! does) and the promise rejects with what it threw.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use kernels::network::{BatchLogs, EpochResult};

use crate::env::Env;
use crate::error::JsError;
use crate::guard;
use crate::network::Shared;
use crate::results;
use crate::shutdown;
use crate::sys::*;
use crate::task;

enum Message {
    Batch { batch: usize, stats: BatchLogs },
    Done { deferred: napi_deferred, result: Result<EpochResult, JsError> },
}

/// The thread-safe function and what both ends know about it.
struct Link {
    tsfn: napi_threadsafe_function,
    /// Node has finalized the function (environment shutting down, or released): it must not
    /// be called any more.
    closed: bool,
    /// Batch messages queued and handled so far (lockstep waits for them to meet).
    sent: u64,
    handled: u64,
}

struct Channel {
    link: Mutex<Link>,
    handled: Condvar,
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, Link> {
        // A poisoned lock only means a panic elsewhere; the counters are still meaningful.
        self.link.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Lives as long as the thread-safe function; used only on the JavaScript thread.
struct Context {
    channel: Arc<Channel>,
    shared: Arc<Shared>,
    metric_count: usize,
    lockstep: bool,
    /// What the callback threw first, kept to reject the promise with.
    thrown: Cell<napi_ref>,
}

/// The sending end, owned by the training task.
pub struct Progress {
    channel: Arc<Channel>,
    metric_count: usize,
    lockstep: bool,
}

// SAFETY: the thread-safe function exists to be called from any thread; the raw handle is only
// used under the channel's lock and never after Node finalized it (`closed`).
unsafe impl Send for Link {}

impl Progress {
    /// A channel to `callback(batch, loss, metrics)`.
    pub fn new(env: Env, callback: napi_value, shared: Arc<Shared>, metric_count: usize, lockstep: bool) -> Result<Progress, JsError> {
        let name = env.string("backprop training progress")?;
        let channel = Arc::new(Channel { link: Mutex::new(Link { tsfn: ptr::null_mut(), closed: false, sent: 0, handled: 0 }), handled: Condvar::new() });
        let context = Box::into_raw(Box::new(Context { channel: Arc::clone(&channel), shared, metric_count, lockstep, thrown: Cell::new(ptr::null_mut()) }));
        let mut tsfn = ptr::null_mut();
        // SAFETY: `context` is reclaimed by `finalize` once Node is done with the function (or
        // below if creation fails). Queue size 0 = unbounded: the sender never blocks in Node.
        let status = unsafe {
            napi_create_threadsafe_function(env.0, callback, ptr::null_mut(), name, 0, 1, context.cast::<c_void>(), Some(finalize), context.cast::<c_void>(), Some(call_js), &mut tsfn)
        };
        if let Err(e) = env.check(status) {
            drop(unsafe { Box::from_raw(context) });
            return Err(e);
        }
        channel.lock().tsfn = tsfn;
        Ok(Progress { channel, metric_count, lockstep })
    }

    /// Reports a batch (pool thread). In lockstep mode, returns once the callback has run.
    /// Returns false when nobody is listening any more (Node is shutting down): stop then.
    pub fn batch(&self, batch: usize, stats: &BatchLogs) -> bool {
        let mut link = self.channel.lock();
        if send(&mut link, Message::Batch { batch, stats: *stats }).is_err() {
            return false;
        }
        link.sent += 1;
        if self.lockstep {
            let target = link.sent;
            // Timed, to see the process exiting: then the JavaScript thread will not come back.
            while link.handled < target && !link.closed && !shutdown::exiting() {
                link = self.channel.handled.wait_timeout(link, Duration::from_millis(20)).unwrap_or_else(|e| e.into_inner()).0;
            }
        }
        !link.closed && !shutdown::exiting()
    }

    /// Queues the settlement of `deferred` behind every batch message (JavaScript thread). If
    /// the function is closed (Node shutting down) the promise is settled directly.
    pub fn finish(&self, env: Env, deferred: napi_deferred, result: Result<EpochResult, JsError>) {
        let refused = send(&mut self.channel.lock(), Message::Done { deferred, result });
        if let Err(Message::Done { deferred, result }) = refused {
            task::settle(env, deferred, result.and_then(|r| results::epoch(env, &r, self.metric_count)));
        }
    }
}

/// Queues `message`, or gives it back when the function is closed or Node refuses it.
fn send(link: &mut Link, message: Message) -> Result<(), Message> {
    if link.closed {
        return Err(message);
    }
    let raw = Box::into_raw(Box::new(message));
    // SAFETY: the function is open (checked under the lock Node's finalizer takes too); on
    // success Node hands `raw` to `call_js`, which reclaims it; on failure it is still ours.
    let status = unsafe { napi_call_threadsafe_function(link.tsfn, raw.cast::<c_void>(), NAPI_TSFN_NONBLOCKING) };
    if status == NAPI_OK {
        Ok(())
    } else {
        Err(*unsafe { Box::from_raw(raw) })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let link = self.channel.lock();
        if !link.closed {
            // SAFETY: releases the one thread count the function was created with; queued
            // messages are still delivered, then Node finalizes the function.
            unsafe { napi_release_threadsafe_function(link.tsfn, NAPI_TSFN_RELEASE) };
        }
    }
}

unsafe extern "C" fn call_js(env: napi_env, callback: napi_value, context: *mut c_void, data: *mut c_void) {
    // SAFETY: `data` is a Message boxed by `send`.
    let message = *unsafe { Box::from_raw(data.cast::<Message>()) };
    if env.is_null() {
        // The environment is being torn down and Node is emptying the queue — after `finalize`
        // has freed the context, so it must not be touched. Just free the message.
        return;
    }
    // SAFETY: with a live env, `finalize` has not run yet, so the context is alive.
    let context = unsafe { &*context.cast::<Context>() };
    let is_batch = matches!(message, Message::Batch { .. });
    guard::contain("a progress callback", || {
        let env = Env(env);
        match message {
            Message::Batch { batch, stats } => {
                if context.thrown.get().is_null() {
                    call_back(env, callback, context, batch, &stats);
                }
            }
            Message::Done { deferred, result } => {
                let thrown = context.thrown.replace(ptr::null_mut());
                if thrown.is_null() {
                    task::settle(env, deferred, result.and_then(|r| results::epoch(env, &r, context.metric_count)));
                    return;
                }
                let mut value = ptr::null_mut();
                // SAFETY: the reference made in `call_back`; deleted once read.
                unsafe {
                    napi_get_reference_value(env.0, thrown, &mut value);
                    napi_delete_reference(env.0, thrown);
                    napi_reject_deferred(env.0, deferred, value);
                }
            }
        }
    });
    if is_batch {
        // Whatever the callback did, the waiting pool thread must wake.
        context.channel.lock().handled += 1;
        context.channel.handled.notify_all();
    }
}

/// Runs the callback for one batch. In lockstep mode the pool thread is parked with the network
/// unlocked, so the callback may use the network like any code between batches.
fn call_back(env: Env, callback: napi_value, context: &Context, batch: usize, stats: &BatchLogs) {
    let _between = context.lockstep.then(|| context.shared.enter_callback());
    let called = (|| {
        let args = [env.double(batch as f64)?, env.double(stats.loss)?, env.numbers(&stats.metrics[..context.metric_count])?];
        env.call(callback, &args)
    })();
    if let Err(JsError::Pending) = called {
        if let Some(thrown) = env.take_exception() {
            let mut reference = ptr::null_mut();
            // SAFETY: keeps the thrown value alive until the promise rejects with it.
            unsafe { napi_create_reference(env.0, thrown, 1, &mut reference) };
            context.thrown.set(reference);
        }
        context.shared.cancel.store(true, Ordering::Release);
    }
}

unsafe extern "C" fn finalize(env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    guard::contain("a progress finalizer", || {
        // SAFETY: the Context boxed in `Progress::new`; Node calls this once, after the last
        // `call_js` with a live env (at teardown, queued messages follow with a NULL env).
        let context = unsafe { Box::from_raw(data.cast::<Context>()) };
        {
            let mut link = context.channel.lock();
            link.closed = true;
            context.channel.handled.notify_all();
        }
        let thrown = context.thrown.get();
        if !thrown.is_null() && !env.is_null() {
            unsafe { napi_delete_reference(env, thrown) };
        }
    });
}
