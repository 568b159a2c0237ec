//! Allocator settings for a long-running server process.

/// glibc's malloc raises its mmap threshold to the size of the largest block freed (up to
/// 32 MiB). After the first password hash frees its 19 MiB argon2 buffer, later buffers come from
/// the per-thread arenas instead, which keep the memory once it is freed: a burst of logins left
/// the server holding a GiB it no longer used. A fixed threshold (which turns the adjustment off)
/// keeps blocks that large mmapped, so freeing them gives the memory back.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tuning parameters; any value is valid.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}
