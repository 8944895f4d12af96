//! Errors on their way to JavaScript: which constructor to throw, and a message that names the
//! argument, what was expected and what was given.

/// An error for JavaScript. Everything the boundary rejects becomes one of these, thrown by
/// `guard::entry` (or used to reject a promise); nothing unwinds or aborts into Node.
#[derive(Debug)]
pub enum JsError {
    /// A value of the wrong kind: `TypeError`.
    Type(String),
    /// A value of the right kind out of range (sizes, lengths, NaN): `RangeError`.
    Range(String),
    /// Anything else: `Error`.
    Error(String),
    /// The network is held by asynchronous work: `Error` with code `ERR_BACKPROP_BUSY`.
    Busy(String),
    /// A JavaScript exception is already pending (a callback threw); leave it as it is.
    Pending,
}

pub type JsResult<T> = Result<T, JsError>;

impl JsError {
    pub fn type_error(message: impl Into<String>) -> JsError {
        JsError::Type(message.into())
    }

    pub fn range_error(message: impl Into<String>) -> JsError {
        JsError::Range(message.into())
    }

    pub fn error(message: impl Into<String>) -> JsError {
        JsError::Error(message.into())
    }

    pub fn message(&self) -> &str {
        match self {
            JsError::Type(m) | JsError::Range(m) | JsError::Error(m) | JsError::Busy(m) => m,
            JsError::Pending => "a JavaScript exception is pending",
        }
    }
}

/// The message of a caught panic (panics carry a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// What an internal failure (a Rust panic) becomes: a plain `Error` that says it is a bug.
pub fn internal(message: &str) -> JsError {
    // Allocation failures panic on purpose (kernels::alloc): the caller asked for too much.
    if message.starts_with(kernels::alloc::OUT_OF_MEMORY) {
        return JsError::range_error(message.to_string());
    }
    JsError::Error(format!("backprop native core: internal error (please report it): {message}"))
}
