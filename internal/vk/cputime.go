package vk

/*
#include <time.h>

static long long vkdep_thread_cpu_ns(void) {
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return -1;
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
*/
import "C"

// ThreadCPUTime returns the CPU time, in nanoseconds, consumed so far by the calling OS thread
// (CLOCK_THREAD_CPUTIME_ID), or -1 when the clock is not available. The caller locks its
// goroutine to the thread (runtime.LockOSThread) around the span it measures.
func ThreadCPUTime() int64 { return int64(C.vkdep_thread_cpu_ns()) }
