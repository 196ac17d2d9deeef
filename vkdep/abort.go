package vkdep

import (
	"fmt"
	"sync"
	"sync/atomic"

	"vkdep.dev/internal/vk"
)

// AbortWord locates a queue's cooperative abort word (T5): a 32-bit word, zero while the queue
// runs, set to non-zero by vkdep when the queue is banned by its timeout or killed. It lives in
// host-visible, coherent memory, in a storage buffer the device owns.
//
// Vulkan cannot cancel GPU work, but long-running work can cancel itself: a shader that polls the
// word — bind Buffer as a storage buffer (offset 0, range Size, declared coherent volatile) and read
// word Index — and exits early when it is set lets its job's value land at once, so the release
// hook runs (T4) and the work queued behind it, on this VkQueue and on queues that share it, moves
// again. This is the way to make long GPU work killable.
type AbortWord struct {
	Buffer uint64 // VkBuffer of the device's abort words
	Size   uint64 // its size in bytes
	Index  uint32 // this queue's word: byte offset 4*Index
}

// abortWords is the device's abort buffer: one word per queue, slots reused as queues finish.
type abortWords struct {
	mu    sync.Mutex
	buf   *vk.Buffer
	words []uint32 // mapped
	free  []uint32
	next  uint32
}

const abortSlots = 1024

func newAbortWords(dev *vk.Device) (*abortWords, error) {
	b, err := dev.CreateHostBuffer(4 * abortSlots)
	if err != nil {
		return nil, fmt.Errorf("vkdep: abort-word buffer: %w", err)
	}
	w := b.Uint32s()
	clear(w)
	return &abortWords{buf: b, words: w}, nil
}

// take reserves a cleared word.
func (a *abortWords) take() (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var i uint32
	switch {
	case len(a.free) > 0:
		i = a.free[len(a.free)-1]
		a.free = a.free[:len(a.free)-1]
	case a.next < abortSlots:
		i = a.next
		a.next++
	default:
		return 0, fmt.Errorf("%w: more than %d queues open at once (one abort word each)", ErrInvalidOptions, abortSlots)
	}
	atomic.StoreUint32(&a.words[i], 0)
	return i, nil
}

func (a *abortWords) put(i uint32) {
	a.mu.Lock()
	atomic.StoreUint32(&a.words[i], 0)
	a.free = append(a.free, i)
	a.mu.Unlock()
}

func (a *abortWords) set(i uint32) { atomic.StoreUint32(&a.words[i], 1) }

// abortState is a queue's abort word (T5), embedded in Queue.
type abortState struct {
	abortIndex uint32      // its word in the device's abort buffer
	aborted    atomic.Bool // Kill set the abort word (Aborted)
}

// AbortWord returns where the queue's cooperative abort word is (T5).
func (q *Queue) AbortWord() AbortWord {
	a := q.dev.abort
	return AbortWord{Buffer: a.buf.Handle, Size: a.buf.Size, Index: q.abortIndex}
}

// Aborted reports whether the queue's abort word has been set: the queue was banned or killed.
// It is the queue's own record, so it stays right after the queue has finished and its word went
// to another queue, and after Device.Close (X3).
func (q *Queue) Aborted() bool { return q.aborted.Load() }
