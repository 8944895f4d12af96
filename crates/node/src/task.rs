//! Work off the JavaScript thread: a `Task` runs on the libuv thread pool (napi async work) and
//! settles a promise back on the JavaScript thread. A task owns everything it reads (`Arc`s and
//! copies), so it does not matter what JavaScript does meanwhile — mutate or detach its arrays,
//! or drop every reference to the objects involved.

use std::ffi::c_void;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use crate::env::Env;
use crate::error::{panic_message, JsError, JsResult};
use crate::guard;
use crate::sys::*;

pub trait Task: Send + Sized + 'static {
    type Output: Send + 'static;

    /// The work, on a pool thread. Must not touch JavaScript.
    fn run(&mut self) -> Self::Output;

    /// Back on the JavaScript thread: settles `deferred` with `output` (an Err when `run`
    /// panicked or the work was cancelled by Node at shutdown).
    fn complete(self, env: Env, deferred: napi_deferred, output: Result<Self::Output, JsError>);
}

struct Job<T: Task> {
    task: Option<T>,
    output: Option<Result<T::Output, JsError>>,
    deferred: napi_deferred,
    work: napi_async_work,
}

/// Queues `task` and returns its promise.
pub fn spawn<T: Task>(env: Env, name: &str, task: T) -> JsResult<napi_value> {
    let resource_name = env.string(name)?;
    let job = Box::into_raw(Box::new(Job { task: Some(task), output: None, deferred: ptr::null_mut(), work: ptr::null_mut() }));
    let mut work = ptr::null_mut();
    // SAFETY: `job` is a live Box; Node passes it back to `execute` and `complete`, and
    // `complete` reclaims it exactly once. On every failure below we reclaim it ourselves.
    unsafe {
        let status = napi_create_async_work(env.0, ptr::null_mut(), resource_name, Some(execute::<T>), Some(complete::<T>), job.cast::<c_void>(), &mut work);
        if let Err(e) = env.check(status) {
            drop(Box::from_raw(job));
            return Err(e);
        }
        (*job).work = work;
        let (mut deferred, mut promise) = (ptr::null_mut(), ptr::null_mut());
        if let Err(e) = env.check(napi_create_promise(env.0, &mut deferred, &mut promise)) {
            napi_delete_async_work(env.0, work);
            drop(Box::from_raw(job));
            return Err(e);
        }
        (*job).deferred = deferred;
        if let Err(e) = env.check(napi_queue_async_work(env.0, work)) {
            napi_delete_async_work(env.0, work);
            drop(Box::from_raw(job));
            // Nobody will see this promise; settle it quietly (a rejection would be unhandled).
            if let Ok(undefined) = env.undefined() {
                napi_resolve_deferred(env.0, deferred, undefined);
            }
            return Err(e);
        }
        Ok(promise)
    }
}

unsafe extern "C" fn execute<T: Task>(_env: napi_env, data: *mut c_void) {
    // SAFETY: `data` is the job from `spawn`; until `complete` runs, only this thread uses it.
    // `_env` must not be used here (not the JavaScript thread).
    let job = unsafe { &mut *data.cast::<Job<T>>() };
    let Some(task) = job.task.as_mut() else { return };
    job.output = Some(panic::catch_unwind(AssertUnwindSafe(|| task.run())).map_err(|p| crate::error::internal(&panic_message(p.as_ref()))));
}

unsafe extern "C" fn complete<T: Task>(env: napi_env, status: napi_status, data: *mut c_void) {
    guard::contain("the completion of asynchronous work", || {
        // SAFETY: the job from `spawn`, handed back once; `execute` has finished with it.
        let mut job = unsafe { Box::from_raw(data.cast::<Job<T>>()) };
        unsafe { napi_delete_async_work(env, job.work) };
        let output = match job.output.take() {
            Some(output) => output,
            None if status == NAPI_CANCELLED => Err(JsError::error("the work was cancelled because Node is shutting down")),
            None => Err(JsError::error(format!("the work did not run (status {status})"))),
        };
        if let Some(task) = job.task.take() {
            task.complete(Env(env), job.deferred, output);
        }
    });
}

/// Resolves or rejects `deferred` with a result built on the JavaScript thread.
pub fn settle(env: Env, deferred: napi_deferred, result: JsResult<napi_value>) {
    let rejection = match result {
        Ok(value) => {
            // SAFETY: `deferred` is unsettled and settled only here.
            unsafe { napi_resolve_deferred(env.0, deferred, value) };
            return;
        }
        Err(JsError::Pending) => env.take_exception().map(Ok).unwrap_or_else(|| env.error_value(&JsError::error("unknown error"))),
        Err(error) => env.error_value(&error),
    };
    if let Ok(value) = rejection {
        // SAFETY: as above.
        unsafe { napi_reject_deferred(env.0, deferred, value) };
    }
}
