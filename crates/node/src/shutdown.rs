//! The process exiting while native work runs. `process.exit()`, an uncaught exception or an
//! unhandled rejection make Node join the libuv pool's threads before the process ends; a pool
//! thread waiting in lockstep for a progress callback that the exiting main thread will never
//! run would block that join forever. The JavaScript side calls `shutdown()` from the main
//! thread's 'exit' event: from then on running epochs stop after their batch and nothing waits
//! for the JavaScript thread.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::env::{Args, Env};
use crate::error::JsResult;
use crate::sys::napi_value;

static EXITING: AtomicBool = AtomicBool::new(false);

/// Whether the process is exiting: stop work, wait for nothing.
pub fn exiting() -> bool {
    EXITING.load(Ordering::Acquire)
}

/// shutdown(): the process is exiting (called once, from the main thread's 'exit' event).
pub fn shutdown(env: Env, _args: &Args) -> JsResult<napi_value> {
    EXITING.store(true, Ordering::Release);
    env.undefined()
}
