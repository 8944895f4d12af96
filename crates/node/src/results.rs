//! Results as the JavaScript objects lib/engine/engine.ts describes (BatchResult, EpochResult,
//! Evaluation).

use kernels::network::{BatchLogs, EpochResult};

use crate::env::Env;
use crate::error::JsResult;
use crate::sys::napi_value;

/// { loss, metrics, diverged: string | null }
pub fn batch(env: Env, stats: &BatchLogs, metric_count: usize, diverged: Option<&str>) -> JsResult<napi_value> {
    let object = evaluation(env, stats, metric_count)?;
    let diverged = match diverged {
        Some(reason) => env.string(reason)?,
        None => env.null()?,
    };
    env.set(object, c"diverged", diverged)?;
    Ok(object)
}

/// { loss, metrics }
pub fn evaluation(env: Env, stats: &BatchLogs, metric_count: usize) -> JsResult<napi_value> {
    let object = env.object()?;
    env.set(object, c"loss", env.double(stats.loss)?)?;
    env.set(object, c"metrics", env.numbers(&stats.metrics[..metric_count])?)?;
    Ok(object)
}

/// { loss, metrics, batches, samples, stopped, diverged: { batch, reason } | null }
pub fn epoch(env: Env, result: &EpochResult, metric_count: usize) -> JsResult<napi_value> {
    let object = env.object()?;
    env.set(object, c"loss", env.double(result.loss)?)?;
    env.set(object, c"metrics", env.numbers(&result.metrics[..metric_count])?)?;
    env.set(object, c"batches", env.double(result.batches as f64)?)?;
    env.set(object, c"samples", env.double(result.samples as f64)?)?;
    env.set(object, c"stopped", env.boolean(result.stopped)?)?;
    let diverged = match &result.diverged {
        Some((batch, reason)) => {
            let d = env.object()?;
            env.set(d, c"batch", env.double(*batch as f64)?)?;
            env.set(d, c"reason", env.string(reason)?)?;
            d
        }
        None => env.null()?,
    };
    env.set(object, c"diverged", diverged)?;
    Ok(object)
}
