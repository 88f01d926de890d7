package kerberos

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunReturnsResult(t *testing.T) {
	r := startRunner(func() {})
	defer r.stop()
	got, err := run(t.Context(), r, time.Second, func() (int, error) { return 42, nil })
	if got != 42 || err != nil {
		t.Errorf("run = %d, %v; want 42, nil", got, err)
	}
	wantErr := errors.New("boom")
	if _, err := run(t.Context(), r, time.Second, func() (int, error) { return 0, wantErr }); err != wantErr {
		t.Errorf("run = %v; want %v", err, wantErr)
	}
}

func TestRunAbandonsSlowCall(t *testing.T) {
	release := make(chan struct{})
	cleaned := make(chan struct{})
	r := startRunner(func() { close(cleaned) })

	begin := time.Now()
	_, err := run(t.Context(), r, 50*time.Millisecond, func() (int, error) {
		<-release
		return 1, nil
	})
	var te *timeoutError
	if !errors.As(err, &te) {
		t.Fatalf("run of a blocked call = %v; want a *timeoutError", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("run returned after %v; want about 50ms", took)
	}

	// The next call waits behind the abandoned one, within its own timeout.
	if _, err := run(t.Context(), r, 50*time.Millisecond, func() (int, error) { return 2, nil }); !errors.As(err, &te) {
		t.Errorf("run behind a blocked call = %v; want a *timeoutError", err)
	}

	r.stop()
	select {
	case <-cleaned:
		t.Fatal("cleanup ran while a call was still running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("runner goroutine did not exit after its last call returned")
	}
	select {
	case <-cleaned:
	default:
		t.Error("runner goroutine exited without cleaning up")
	}
}

func TestRunHonoursContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	r := startRunner(func() {})
	defer r.stop()

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := run(ctx, r, time.Hour, func() (int, error) {
		<-release
		return 1, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run with a cancelled context = %v; want context.Canceled", err)
	}
	ran := false
	if _, err := run(ctx, r, time.Hour, func() (int, error) { ran = true; return 1, nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("run after cancel = %v, ran %v; want context.Canceled without running", err, ran)
	}
}
