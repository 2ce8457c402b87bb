package rlcc

/*
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// KNNOptions are the options of a KNNState. The zero value (and nil) is
// the library's default: every OpenMP thread, a budget of half the
// machine's memory.
type KNNOptions struct {
	Threads int // 0: omp_get_max_threads(); the lists never depend on it
	// MaxBytes bounds everything the state holds at once: its lists (16
	// bytes per entry, held until Close) plus each call's working memory.
	// 0: half of RAM.
	MaxBytes int64
}

// KNNStats are what a KNNState has done (rlcc_knn_stats).
type KNNStats struct {
	Updates      int64 // updates applied, merged states' included
	Redecided    int64 // candidates decided again in double from the rows
	FallbackRows int64 // query rows of an update with more near-ties than the screen keeps: every reference row was decided in double for them
	PeakBytes    int64 // the largest working memory the state held at once
}

// KNNState is the block kNN of librlcc 1.3 (rlcc_knn_state): the kNN lists
// of nQueries query rows whose first row has the global index queryOffset,
// built from blocks of reference rows offered one at a time (Update: rows
// on another machine, a GPU, a shard) and from other states for the same
// queries (Merge). Whatever the blocking and the order of updates and
// merges, Finish gives, value for value, the rows of KNN over every
// reference row offered.
//
// A state holds library memory: Close frees it (a finalizer does too, but
// late). One call at a time, as the library has it: a call while another
// goroutine's call on the same state runs is refused with
// ErrInvalidArgument ("in use by another call"), never a data race; Close
// waits for a running call. A closed state refuses every call.
type KNNState struct {
	mu                          sync.Mutex
	handle                      *C.rlcc_knn_state
	nQueries, queryOffset, d, k int
}

// NewKNNState makes a state for nQueries query rows of width d whose first
// row has the global index queryOffset, keeping k neighbours each. options
// nil means the defaults. The library refuses d or k outside [1,
// INT32_MAX], nQueries outside [0, INT32_MAX], a negative queryOffset, and
// lists beyond options.MaxBytes (ErrMemoryLimit).
func NewKNNState(nQueries, queryOffset, d, k int, options *KNNOptions) (*KNNState, error) {
	var opts C.rlcc_knn_options
	C.rlcc_knn_options_init(&opts, C.size_t(unsafe.Sizeof(opts)))
	if options != nil {
		opts.n_threads = clampInt32(options.Threads)
		opts.max_bytes = C.int64_t(options.MaxBytes)
	}
	var handle *C.rlcc_knn_state
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_knn_state_new(C.int64_t(nQueries), C.int64_t(queryOffset),
		C.int64_t(d), C.int64_t(k), &opts, &handle, &captured), &captured); err != nil {
		return nil, err
	}
	s := &KNNState{handle: handle, nQueries: nQueries, queryOffset: queryOffset, d: d, k: k}
	runtime.SetFinalizer(s, (*KNNState).Close)
	return s, nil
}

// NQueries is the number of query rows.
func (s *KNNState) NQueries() int { return s.nQueries }

// QueryOffset is the global index of the first query row.
func (s *KNNState) QueryOffset() int { return s.queryOffset }

// D is the row width.
func (s *KNNState) D() int { return s.d }

// K is the number of neighbours kept per query row.
func (s *KNNState) K() int { return s.k }

// claim holds the state for one call, or refuses a concurrent call and a
// closed state; name is the argument the refusal names.
func (s *KNNState) claim(name string) error {
	if s == nil {
		return invalid("%s: nil", name)
	}
	if !s.mu.TryLock() {
		return invalid("%s: in use by another call", name)
	}
	if s.handle == nil {
		s.mu.Unlock()
		return invalid("%s: closed", name)
	}
	return nil
}

// Close frees the state; it waits for a call running in another goroutine.
// Calling it twice is fine; any later call on the state is refused.
func (s *KNNState) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handle != nil {
		C.rlcc_knn_state_free(s.handle)
		s.handle = nil
		runtime.SetFinalizer(s, nil)
	}
}

// Update offers nRefs reference rows (refs, nRefs x d row-major), global
// indices refOffset .. refOffset+nRefs-1, to the query rows (queries,
// NQueries x d, the same rows at every call): each query row then keeps
// its k nearest among the rows it held and these. A row offered again
// changes nothing; nRefs may be 0. Passing the same slice as queries and
// refs with refOffset == QueryOffset computes each pair once (the
// triangle). Both lengths are checked before the library is called; on any
// error the state is unchanged.
func (s *KNNState) Update(queries []float32, refs []float32, nRefs, refOffset int) error {
	if err := s.claim("state"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := checkMatrix("queries", len(queries), s.nQueries, s.d); err != nil {
		return err
	}
	if err := checkMatrix("refs", len(refs), nRefs, s.d); err != nil {
		return err
	}
	var captured C.rlcc_go_error
	code := C.rlcc_go_knn_update(s.handle, floats(queries), C.int64_t(s.d), floats(refs),
		C.int64_t(nRefs), C.int64_t(refOffset), &captured)
	runtime.KeepAlive(queries)
	runtime.KeepAlive(refs)
	return result(code, &captured)
}

// Merge takes in other, a state for the same queries (NQueries,
// QueryOffset, D, K) that was offered other (or overlapping) reference
// rows: s then holds the k nearest of both; other is unchanged (and held
// for the call, so a call running on it refuses the merge). States for
// different queries, and s itself, are refused.
func (s *KNNState) Merge(other *KNNState) error {
	if other == nil {
		return invalid("other: nil")
	}
	if err := s.claim("state"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	from := s.handle // s itself: the library refuses it and says why
	if other != s {
		if err := other.claim("other"); err != nil {
			return err
		}
		defer other.mu.Unlock()
		from = other.handle
	}
	var captured C.rlcc_go_error
	return result(C.rlcc_go_knn_merge(s.handle, from, &captured), &captured)
}

// Finish returns the finished lists as KNN returns them: indices (global)
// and squared distances, both NQueries x K row-major, each row by
// ascending distance, ties by lower index. It is refused while a query row
// has fewer than K neighbours (fewer than K reference rows offered). The
// state stays usable: more updates, another Finish.
func (s *KNNState) Finish() (indices []int64, sqdist []float32, err error) {
	if err := s.claim("state"); err != nil {
		return nil, nil, err
	}
	defer s.mu.Unlock()
	if err := checkShape("indices", s.nQueries, s.k); err != nil {
		return nil, nil, err
	}
	indices, sqdist = make([]int64, s.nQueries*s.k), make([]float32, s.nQueries*s.k)
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_knn_finish(s.handle, int64s(indices), floats(sqdist), &captured),
		&captured); err != nil {
		return nil, nil, err
	}
	return indices, sqdist, nil
}

// Stats reports what the state has done so far.
func (s *KNNState) Stats() (KNNStats, error) {
	if err := s.claim("state"); err != nil {
		return KNNStats{}, err
	}
	defer s.mu.Unlock()
	var stats C.rlcc_knn_stats
	C.rlcc_knn_stats_init(&stats, C.size_t(unsafe.Sizeof(stats)))
	var captured C.rlcc_go_error
	if err := result(C.rlcc_go_knn_state_stats(s.handle, &stats, &captured), &captured); err != nil {
		return KNNStats{}, err
	}
	return KNNStats{
		Updates:      int64(stats.n_updates),
		Redecided:    int64(stats.n_redecided),
		FallbackRows: int64(stats.n_fallback_rows),
		PeakBytes:    int64(stats.peak_bytes),
	}, nil
}
