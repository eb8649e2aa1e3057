//! User and group databases (through the C library, so NSS sources such
//! as LDAP are consulted like everywhere else) and changing the process's
//! user and groups (see [`crate::privileges`]).

use std::ffi::{CStr, CString};
use std::io;

/// Buffer size for the `get*_r` calls, doubled on `ERANGE` up to 1 MiB.
const FIRST_BUFFER: usize = 1024;
const LAST_BUFFER: usize = 1 << 20;

/// A user's ID and primary group ID, or `None` when there is no such user.
#[allow(unsafe_code)]
pub(crate) fn user_by_name(name: &str) -> io::Result<Option<(u32, u32)>> {
    let name = CString::new(name).map_err(|_| io::Error::other("a user name cannot hold a NUL byte"))?;
    let mut size = FIRST_BUFFER;
    loop {
        let mut buffer = vec![0 as libc::c_char; size];
        // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids).
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `name` is a NUL
        // terminated string, `entry` and `found` are live locals, and
        // `buffer` has `size` bytes; the strings `entry` points to live in
        // `buffer`, which outlives their use below.
        let rc =
            unsafe { libc::getpwnam_r(name.as_ptr(), &mut entry, buffer.as_mut_ptr(), size, &mut found) };
        match rc {
            0 if found.is_null() => return Ok(None),
            0 => return Ok(Some((entry.pw_uid, entry.pw_gid))),
            libc::ERANGE if size < LAST_BUFFER => size *= 2,
            code => return Err(io::Error::from_raw_os_error(code)),
        }
    }
}

/// A group's ID, or `None` when there is no such group.
#[allow(unsafe_code)]
pub(crate) fn group_by_name(name: &str) -> io::Result<Option<u32>> {
    let name = CString::new(name).map_err(|_| io::Error::other("a group name cannot hold a NUL byte"))?;
    let mut size = FIRST_BUFFER;
    loop {
        let mut buffer = vec![0 as libc::c_char; size];
        // SAFETY: all-zero is a valid `group` (null pointers, zero id).
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as in `user_by_name`.
        let rc =
            unsafe { libc::getgrnam_r(name.as_ptr(), &mut entry, buffer.as_mut_ptr(), size, &mut found) };
        match rc {
            0 if found.is_null() => return Ok(None),
            0 => return Ok(Some(entry.gr_gid)),
            libc::ERANGE if size < LAST_BUFFER => size *= 2,
            code => return Err(io::Error::from_raw_os_error(code)),
        }
    }
}

/// A user's name and primary group ID by user ID (`None` when unknown).
#[allow(unsafe_code)]
pub(crate) fn user_by_id(uid: u32) -> Option<(String, u32)> {
    let mut buffer = vec![0 as libc::c_char; FIRST_BUFFER * 16];
    // SAFETY: as in `user_by_name`.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: as in `user_by_name`.
    let rc = unsafe { libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found) };
    if rc != 0 || found.is_null() {
        return None;
    }
    // SAFETY: on success `pw_name` points to a NUL terminated string in `buffer`.
    let name = unsafe { CStr::from_ptr(entry.pw_name) }
        .to_string_lossy()
        .into_owned();
    Some((name, entry.pw_gid))
}

/// Sets the supplementary groups to just `gid`, then the real, effective
/// and saved group and user IDs. The C library applies each change to
/// every thread of the process (Linux keeps credentials per thread; glibc
/// and musl broadcast them), which is why this goes through it rather
/// than a raw system call.
#[allow(unsafe_code)]
pub(crate) fn switch_user(uid: u32, gid: u32) -> io::Result<()> {
    let groups = [gid];
    // SAFETY: a pointer to one valid `gid_t` and its count.
    check(unsafe { libc::setgroups(1, groups.as_ptr()) })?;
    // SAFETY: integer arguments.
    check(unsafe { libc::setresgid(gid, gid, gid) })?;
    // SAFETY: integer arguments.
    check(unsafe { libc::setresuid(uid, uid, uid) })
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
