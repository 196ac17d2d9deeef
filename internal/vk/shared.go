package vk

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// One VkInstance per process per configuration. The NVIDIA driver refuses vkCreateInstance after
// about 30 instances in one process, destroyed or not, so a program (or a test binary) that opens
// devices again and again must not create an instance each time. SharedInstance hands out one
// instance per (application name, extensions, validation, synchronization validation), counts
// its users, and keeps it for the next one when the count drops to zero: destroying it would not
// give the driver's slot back.
//
// The validation messenger is per instance; each user (an opened device) listens with its own
// callback. A message is routed to the users that own one of the objects it lists (their VkDevice
// and VkQueue handles, and the objects they claimed: vkdep claims its semaphores); a message that
// names none of them goes to every user of the instance.

// SharedInstance is a reference-counted instance of one configuration.
type SharedInstance struct {
	*InstanceObj
	key       string
	refs      int // under sharedInstances.mu
	listeners atomic.Pointer[[]*Listener]
	lmu       sync.Mutex // serialises changes to listeners
}

var sharedInstances struct {
	mu sync.Mutex
	m  map[string]*SharedInstance
}

// AcquireInstance returns the process's instance for cfg (its OnMessage is ignored: use Listen),
// creating it on first use. Release it when done.
func AcquireInstance(cfg InstanceConfig) (*SharedInstance, error) {
	exts := slices.Clone(cfg.Extensions)
	slices.Sort(exts)
	exts = slices.Compact(exts)
	key := fmt.Sprintf("%q|%s|%v|%v", cfg.AppName, strings.Join(exts, ","), cfg.Validate, cfg.Validate && cfg.SyncValidation)
	sharedInstances.mu.Lock()
	defer sharedInstances.mu.Unlock()
	if s := sharedInstances.m[key]; s != nil {
		s.refs++
		return s, nil
	}
	s := &SharedInstance{key: key, refs: 1}
	s.listeners.Store(&[]*Listener{})
	cfg.Extensions = exts
	cfg.OnMessage = s.dispatch
	inst, err := CreateInstance(cfg)
	if err != nil {
		return nil, err
	}
	s.InstanceObj = inst
	if sharedInstances.m == nil {
		sharedInstances.m = map[string]*SharedInstance{}
	}
	sharedInstances.m[key] = s
	return s, nil
}

// Release gives back one reference. The instance stays for the next AcquireInstance of its
// configuration (see above).
func (s *SharedInstance) Release() {
	sharedInstances.mu.Lock()
	if s.refs <= 0 {
		sharedInstances.mu.Unlock()
		panic("vk: SharedInstance released more often than acquired")
	}
	s.refs--
	sharedInstances.mu.Unlock()
}

// InstancesCreated is the number of shared instances created in this process.
func InstancesCreated() int {
	sharedInstances.mu.Lock()
	defer sharedInstances.mu.Unlock()
	return len(sharedInstances.m)
}

// Listener is one user's share of an instance's validation messages.
type Listener struct {
	on      func(Message)
	mu      sync.Mutex
	handles map[uint64]struct{} // objects that identify the user's messages
}

// Listen adds on as a receiver of the instance's validation messages, from now until the
// listener is closed. It may run on any goroutine, inside a Vulkan call.
func (s *SharedInstance) Listen(on func(Message)) *Listener {
	l := &Listener{on: on, handles: map[uint64]struct{}{}}
	s.lmu.Lock()
	ls := append(slices.Clone(*s.listeners.Load()), l)
	s.listeners.Store(&ls)
	s.lmu.Unlock()
	return l
}

// Own routes messages that name h (a VkDevice, a VkQueue, a semaphore: the validation layer gives
// every handle of the instance a unique value) to l, and not to the instance's other listeners
// unless they own another object of the message.
func (l *Listener) Own(h uint64) {
	l.mu.Lock()
	l.handles[h] = struct{}{}
	l.mu.Unlock()
}

// Disown forgets h, before it is destroyed (a later object may get its value).
func (l *Listener) Disown(h uint64) {
	l.mu.Lock()
	delete(l.handles, h)
	l.mu.Unlock()
}

func (l *Listener) owns(objs []Object) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range objs {
		if _, ok := l.handles[o.Handle]; ok && o.Handle != 0 {
			return true
		}
	}
	return false
}

// Close removes l from s.
func (s *SharedInstance) Close(l *Listener) {
	s.lmu.Lock()
	ls := slices.DeleteFunc(slices.Clone(*s.listeners.Load()), func(x *Listener) bool { return x == l })
	s.listeners.Store(&ls)
	s.lmu.Unlock()
}

func (s *SharedInstance) dispatch(m Message) {
	ls := *s.listeners.Load()
	routed := false
	for _, l := range ls {
		if l.owns(m.Objects) {
			l.on(m)
			routed = true
		}
	}
	if routed {
		return
	}
	for _, l := range ls {
		l.on(m)
	}
	if len(ls) == 0 {
		fmt.Fprintf(os.Stderr, "vk validation (no device listening): %s %s [%s] %s\n", m.Type, m.Severity, m.ID, m.Text)
	}
}
