//! Non-idempotent writes that are never applied twice.
//!
//! The transport does not resend a write after an ambiguous failure (a timeout, a broken
//! connection or a 5xx after the request was sent): it may have been applied. [`write_once`]
//! then reads whether it was, and writes again only when it was not.

use std::future::Future;

use crate::error::Result;

/// Attempts of a non-idempotent write, the first included.
pub(crate) const WRITE_ATTEMPTS: u32 = 3;

/// Runs a non-idempotent write so that it is never applied twice: after an ambiguous failure
/// (timeout, broken connection, 5xx; see [`Error::is_ambiguous`]) `applied` reads whether the
/// write happened anyway. Its answer is returned when it did; the write is repeated only when
/// it did not, at most [`WRITE_ATTEMPTS`] times in all. When the read itself fails, the write's
/// (ambiguous) error is returned.
pub(crate) async fn write_once<T, W, WF, A, AF>(mut write: W, mut applied: A) -> Result<T>
where
    W: FnMut() -> WF,
    WF: Future<Output = Result<T>>,
    A: FnMut() -> AF,
    AF: Future<Output = Result<Option<T>>>,
{
    let mut attempt = 1;
    loop {
        let err = match write().await {
            Ok(value) => return Ok(value),
            Err(err) if err.is_ambiguous() => err,
            Err(err) => return Err(err),
        };
        tracing::debug!(attempt, error = %err, "ambiguous write failure; reading whether it was applied");
        match applied().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) if attempt < WRITE_ATTEMPTS => attempt += 1,
            Ok(None) => return Err(err),
            Err(read) => {
                tracing::warn!(error = %read, "could not verify an ambiguous write");
                return Err(err);
            }
        }
    }
}
