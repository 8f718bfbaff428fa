// micromotion/threads.h — the size of LibTorch's intra-op thread pool.
//
// LibTorch defaults to the number of *physical* cores it detects, which on virtual
// machines is often 1 for 2 vCPUs: half the machine idles. Programs built on the core
// (the CLI, the front ends, the benchmarks) call set_threads once at start-up.
//
// set_threads(n)
//   ensures: n > 0: n threads. n == 0: $MICROMOTION_THREADS if set, else
//            $OMP_NUM_THREADS if set, else every CPU this process may run on
//            (sched_getaffinity). Returns the number now in effect.
#pragma once

namespace micromotion {

int set_threads(int n = 0);

}  // namespace micromotion
