#if os(Linux)
import CMalloc
#endif

/// Allocator settings for long runs (glibc only).
///
/// A run allocates many multi-megabyte buffers on one thread and frees them on another (units of
/// 512x512 source tiles, batches, results). With glibc's defaults, freed buffers stay in
/// per-thread arenas and the dynamic mmap threshold climbs past their size, so the heap fragments
/// and peak memory creeps up with the length of the run: 124 MiB on a 2048² scene, 141 MiB on a
/// 10980² one (small CNN). Two arenas and a fixed 1 MiB mmap threshold (large buffers go back to
/// the system when freed) measured 124 / 132 MiB; with the classifier's recycled sample buffers
/// on top, 124 / 138 MiB at 0.5 s of system time per tile (2.0 s without recycling).
enum ProcessMemory {
    static func configureForLongRuns() {
        #if os(Linux)
        _ = mallopt(M_ARENA_MAX, 2)
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 20)
        #endif
    }
}
