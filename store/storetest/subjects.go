package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/tokenwall/tokenwall/store"
)

func testSubjectKeys(t *testing.T, s store.Store) {
	defer s.Close()
	t.Run("created with 32 bytes and returned again", func(t *testing.T) {
		k1, err := s.SubjectKey(ctx, "cus_keep")
		if err != nil || len(k1) != store.SubjectKeySize {
			t.Fatalf("first SubjectKey: %d bytes, %v; want %d", len(k1), err, store.SubjectKeySize)
		}
		if bytes.Equal(k1, make([]byte, store.SubjectKeySize)) {
			t.Fatal("key is all zeros")
		}
		k2, err := s.SubjectKey(ctx, "cus_keep")
		if err != nil || !bytes.Equal(k1, k2) {
			t.Fatalf("second SubjectKey returned another key (%v)", err)
		}
	})
	t.Run("different subjects get different keys", func(t *testing.T) {
		a, errA := s.SubjectKey(ctx, "cus_a")
		b, errB := s.SubjectKey(ctx, "cus_b")
		if errA != nil || errB != nil {
			t.Fatalf("SubjectKey: %v, %v", errA, errB)
		}
		if bytes.Equal(a, b) {
			t.Fatal("two subjects share a key")
		}
	})
	t.Run("forget then a new key", func(t *testing.T) {
		old, err := s.SubjectKey(ctx, "cus_forget")
		if err != nil {
			t.Fatal(err)
		}
		other, _ := s.SubjectKey(ctx, "cus_stays")
		if ok, err := s.ForgetSubject(ctx, "cus_forget"); err != nil || !ok {
			t.Fatalf("first ForgetSubject = %v, %v; want true", ok, err)
		}
		if ok, err := s.ForgetSubject(ctx, "cus_forget"); err != nil || ok {
			t.Fatalf("second ForgetSubject = %v, %v; want false", ok, err)
		}
		if ok, err := s.ForgetSubject(ctx, "cus_never_seen"); err != nil || ok {
			t.Fatalf("ForgetSubject of an unknown subject = %v, %v; want false", ok, err)
		}
		fresh, err := s.SubjectKey(ctx, "cus_forget")
		if err != nil || len(fresh) != store.SubjectKeySize {
			t.Fatalf("SubjectKey after forget: %d bytes, %v", len(fresh), err)
		}
		if bytes.Equal(fresh, old) {
			t.Fatal("the forgotten key came back")
		}
		if still, _ := s.SubjectKey(ctx, "cus_stays"); !bytes.Equal(still, other) {
			t.Fatal("forgetting one subject changed another's key")
		}
	})
}

// testConcurrentSubjectKey asks for the key of a new subject from 16 goroutines at once,
// alternating between a and b (one store twice, or two replicas), for several subjects, and
// checks every caller got the one key that stays stored.
func testConcurrentSubjectKey(t *testing.T, a, b store.Store) {
	defer a.Close()
	if b != a {
		defer b.Close()
	}
	const subjects, callers = 8, 16
	seen := map[string]string{} // key -> subject, to catch two subjects sharing one
	for i := range subjects {
		subject := fmt.Sprintf("cus_race_%d", i)
		keys := make([][]byte, callers)
		errs := make([]error, callers)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := a
				if c%2 == 1 {
					s = b
				}
				<-gate
				keys[c], errs[c] = s.SubjectKey(ctx, subject)
			}()
		}
		close(gate)
		wg.Wait()
		for c := range callers {
			if errs[c] != nil {
				t.Fatalf("%s: caller %d: %v", subject, c, errs[c])
			}
			if len(keys[c]) != store.SubjectKeySize || !bytes.Equal(keys[c], keys[0]) {
				t.Fatalf("%s: caller %d got another key than caller 0", subject, c)
			}
		}
		for _, s := range []store.Store{a, b} {
			if k, err := s.SubjectKey(ctx, subject); err != nil || !bytes.Equal(k, keys[0]) {
				t.Fatalf("%s: the stored key is not the one the callers got (%v)", subject, err)
			}
		}
		if prev, dup := seen[string(keys[0])]; dup {
			t.Fatalf("%s and %s share a key", prev, subject)
		}
		seen[string(keys[0])] = subject
	}
}
