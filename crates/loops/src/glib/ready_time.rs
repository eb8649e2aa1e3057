//! The one unsafe call of the GLib host: `g_source_set_ready_time`.
//!
//! glib-rs has no safe wrapper for it (GLib allows it only on sources the
//! caller created, which glib-rs cannot check in general). This module
//! applies it only to the source [`super`] created and still holds, so the
//! reactor's next deadline is kept on that one source, with microsecond
//! precision, instead of a new timeout source per turn.

#![allow(unsafe_code)]

use std::time::Instant;

use glib::translate::ToGlibPtr;

/// Makes `source` dispatch at `at` (at once when it is past, never when it
/// is `None`) even if its descriptor stays quiet. GLib's monotonic clock
/// and [`Instant`] are both `CLOCK_MONOTONIC` on Linux; the offset is
/// rounded up so the source never fires before the reactor's deadline.
pub(super) fn set(source: &glib::Source, at: Option<Instant>) {
    let ready_time = match at {
        None => -1,
        Some(at) => {
            let now = Instant::now();
            if at <= now {
                0
            } else {
                let micros = (at - now).as_nanos().div_ceil(1_000);
                let micros = i64::try_from(micros).unwrap_or(i64::MAX / 2);
                glib::monotonic_time().saturating_add(micros)
            }
        }
    };
    // SAFETY: `source` is a live GSource (the reference keeps it alive)
    // that this crate created with `unix_fd_source_new` and attached
    // itself; GLib permits setting the ready time of such a source from
    // its dispatch function or from the thread that owns its context,
    // which is where `super` calls this (a `ThreadGuard` enforces it).
    unsafe { glib::ffi::g_source_set_ready_time(source.to_glib_none().0, ready_time) }
}
