//! Giving back to the system what a large load or fetch freed. The daemon runs on mimalloc
//! (`main.rs`), whose pages belong to the thread that allocated from them: a block freed by
//! another thread waits on its page until the owner allocates again, and a freed page is given
//! back only later, when its thread is busy again. Parts are parsed and checked on the worker
//! threads and their words taken in on another, and then the workers sit idle: after a restart
//! at a million words the daemon stayed at 294 MiB resident; each thread collecting its heap
//! once, with force (pages freed given back at once), brought it to 172–175 MiB (`parts_bench`, now `scale_bench`).
//!
//! The daemon also runs without transparent huge pages. mimalloc asks the kernel for them
//! (`madvise(MADV_HUGEPAGE)` on its arenas), and where the system's setting is `madvise` (most
//! distributions) the first touch of an arena page then faults in and zeroes 2 MiB. The
//! daemon's memory is small long-lived blocks, so that bought nothing and cost a third of the
//! CPU of one new attestation at a million (130–150 ms, 90 without) and 50 MiB of resident
//! size after it (`scale_bench`'s `follow`, docs/PERFORMANCE.md).

/// Turns transparent huge pages off for this process (`PR_SET_THP_DISABLE`): the kernel then
/// ignores the allocator's `MADV_HUGEPAGE`, for arenas mapped before `main` too. Called first
/// in `main`; a kernel without the call keeps its default, which costs only time.
pub fn no_huge_pages() {
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(%error, "transparent huge pages left on");
    }
}

/// Has every worker thread, and this one, collect what other threads freed into its heap and
/// give back the pages left free. Blocks until every worker has (each runs it between tasks).
pub fn give_back_freed() {
    rayon::broadcast(|_| give_back_here());
    give_back_here();
}

/// This thread's heap collected, with force: also at the end of a blocking task that freed a
/// large copy's bytes or parse, whose thread may then sit idle for as long as tokio keeps it.
pub fn give_back_here() {
    // SAFETY: `mi_collect` takes no pointers; it only walks the calling thread's own heap
    // (a heap mimalloc makes on first use when the program's allocator is another).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true)
    };
}
