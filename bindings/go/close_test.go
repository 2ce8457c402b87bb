package rlcc

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// finishes runs step in a goroutine and fails the test when it does not
// return in time: Close inside a step's callback used to wait for the step
// it was called from, forever.
func finishes(t *testing.T, what string, step func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- step() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: the step did not return (Close deadlocked)", what)
		return nil
	}
}

// closedDuringStep is the error of a step whose refiner was closed while it ran.
func closedDuringStep(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrCanceled) || !strings.Contains(err.Error(), "closed during the step") {
		t.Fatalf("%s: step returned %v, want the closed-during-the-step cancel", what, err)
	}
}

// afterClose checks that a refiner closed during a step is freed and refuses everything.
func afterClose(t *testing.T, what string, r *Refiner, x []float32) {
	t.Helper()
	if r.handle != nil || r.borrowed != nil {
		t.Fatalf("%s: not freed after the step (handle %v, borrowed %v)", what, r.handle != nil, r.borrowed != nil)
	}
	if err := r.StepMatrix(x, 50); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("%s: a step after Close: %v", what, err)
	}
	if _, err := r.Targets(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("%s: targets after Close: %v", what, err)
	}
	if r.Generation() != 0 || r.Bytes() != 0 {
		t.Fatalf("%s: generation %d, bytes %d after Close", what, r.Generation(), r.Bytes())
	}
	r.Close() // twice is fine
}

func TestCloseInsideTheRefinersOwnCallbackIsDeferred(t *testing.T) {
	fill := func(x []float32) FeaturesFunc {
		return func(start, count int, dst []float32, ld int) error {
			copyRows(dst, ld, x, start, count, 16)
			return nil
		}
	}
	for _, where := range []string{"features", "progress", "logits", "progress of a matrix step"} {
		r, x := newTestRefiner(t)
		if err := r.StepMatrix(x, 50); err != nil {
			t.Fatal(err)
		}
		var inside []error // what the callback's own calls on the refiner got after Close
		closeHere := func() {
			r.Close()
			_, err := r.Targets([]int64{0})
			inside = append(inside, err, r.SetKNN(nil))
		}
		seen := map[Stage]int{}
		err := finishes(t, where, func() error {
			switch where {
			case "features":
				return r.Step(func(start, count int, dst []float32, ld int) error {
					if start == 0 {
						closeHere()
					}
					copyRows(dst, ld, x, start, count, 16)
					return nil
				}, 25, nil, func(stage Stage, _ float64) bool { seen[stage]++; return false })
			case "progress":
				return r.Step(fill(x), 25, nil, func(stage Stage, _ float64) bool {
					seen[stage]++
					if stage == StageClustering {
						closeHere()
					}
					return false
				})
			case "logits":
				return r.Step(fill(x), 25, func(start, count, kPrev int, dst []float32, ld int) error {
					if start == 0 {
						closeHere()
					}
					return nil
				}, nil)
			default:
				return r.StepMatrixOpts(x, 16, &StepOptions{Progress: func(stage Stage, _ float64) bool {
					seen[stage]++
					if stage == StageFeatures {
						closeHere()
					}
					return false
				}})
			}
		})
		closedDuringStep(t, where, err)
		for _, e := range inside {
			if !errors.Is(e, ErrInvalidArgument) || !strings.Contains(e.Error(), "closed") {
				t.Fatalf("%s: a call from the callback after Close: %v", where, e)
			}
		}
		if seen[StageDone] != 0 {
			t.Fatalf("%s: the closed refiner's step ran to its end (%v)", where, seen)
		}
		afterClose(t, where, r, x)
	}
}

func TestCloseInsideABorrowingStepReleasesTheMatrices(t *testing.T) {
	r, x := newTestRefiner(t)
	first, second := newMatrix(t, x), newMatrix(t, x)
	if err := r.StepBorrow(first, nil); err != nil {
		t.Fatal(err)
	}
	first.Close() // marked: the refiner still borrows it
	if first.ptr == nil {
		t.Fatal("freed while borrowed")
	}
	err := finishes(t, "borrow", func() error {
		return r.StepBorrow(second, &StepOptions{Progress: func(stage Stage, _ float64) bool {
			r.Close()
			return false
		}})
	})
	closedDuringStep(t, "borrow", err)
	if first.ptr != nil || second.borrowers != 0 {
		t.Fatalf("after Close: first freed %v, second borrowed %d times", first.ptr == nil, second.borrowers)
	}
	second.Close()
	afterClose(t, "borrow", r, x)
}

func TestCloseFromAnotherGoroutineDuringAStepDoesNotWait(t *testing.T) {
	r, x := newTestRefiner(t)
	started, closed := make(chan struct{}), make(chan struct{})
	go func() {
		<-started
		r.Close() // returns while the step runs: the step's callback waits for it
		close(closed)
	}()
	err := finishes(t, "another goroutine", func() error {
		return r.Step(func(start, count int, dst []float32, ld int) error {
			if start == 0 {
				close(started)
				<-closed
			}
			copyRows(dst, ld, x, start, count, 16)
			return nil
		}, 25, nil, nil)
	})
	closedDuringStep(t, "another goroutine", err)
	afterClose(t, "another goroutine", r, x)
}

func newMatrix(t *testing.T, x []float32) *FeatureMatrix {
	t.Helper()
	m, err := NewFeatureMatrix(100, 16)
	if err != nil {
		t.Fatal(err)
	}
	copy(m.Data(), x)
	return m
}
