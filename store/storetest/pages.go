package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// pageNow is a fixed instant at the stored precision, so times compare exactly.
var pageNow = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// samePage reports whether two page states are equal field by field; a nil and an empty
// document are the same.
func samePage(a, b store.PageState) bool {
	return a.Page == b.Page && a.Fingerprint == b.Fingerprint && bytes.Equal(a.Doc, b.Doc) && a.Changed == b.Changed &&
		a.Since.Equal(b.Since) && a.CheckedAt.Equal(b.CheckedAt)
}

// observe calls ObservePage and checks whether it wrote and what it says was stored before.
func observe(t *testing.T, s store.Store, st store.PageState, wantWrote bool, wantPrev store.PageState) {
	t.Helper()
	wrote, prev, err := s.ObservePage(ctx, st)
	if err != nil || wrote != wantWrote || !samePage(prev, wantPrev) {
		t.Fatalf("ObservePage(%+v) = %v, %+v, %v; want %v, %+v", st, wrote, prev, err, wantWrote, wantPrev)
	}
}

// wantState checks the stored state of want.Page, and that its times come back in UTC.
func wantState(t *testing.T, s store.Store, want store.PageState) {
	t.Helper()
	got, err := s.GetPageState(ctx, want.Page)
	if err != nil || !samePage(got, want) {
		t.Fatalf("GetPageState(%q) = %+v, %v; want %+v", want.Page, got, err, want)
	}
	if got.Since.Location() != time.UTC || (!got.CheckedAt.IsZero() && got.CheckedAt.Location() != time.UTC) {
		t.Fatalf("GetPageState(%q): times not in UTC: %+v", want.Page, got)
	}
}

// testPageNotFound: a page never seen has neither baseline nor state, and the list is empty.
func testPageNotFound(t *testing.T, s store.Store) {
	defer s.Close()
	if _, err := s.GetPageBaseline(ctx, "/checkout"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPageBaseline of an unknown page: %v, want ErrNotFound", err)
	}
	if _, err := s.GetPageState(ctx, "/checkout"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPageState of an unknown page: %v, want ErrNotFound", err)
	}
	if all, err := s.ListPageStates(ctx); err != nil || len(all) != 0 {
		t.Errorf("ListPageStates of an empty store = %+v, %v; want none", all, err)
	}
}

// testPageBaseline: a baseline round-trips, resets the page's state to itself (unchanged,
// since its time) and keeps the state's checked time; a second baseline replaces the first.
func testPageBaseline(t *testing.T, s store.Store) {
	defer s.Close()
	b := store.PageBaseline{Page: "/checkout", Fingerprint: "fp1", Doc: []byte(`{"scripts":["a.js"]}`),
		ApprovedBy: "admin:cli:ana", Reason: "first record", At: pageNow.In(time.FixedZone("UTC+5", 5*3600))}
	if err := s.SetPageBaseline(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPageBaseline(ctx, "/checkout")
	if err != nil || got.Page != b.Page || got.Fingerprint != b.Fingerprint || !bytes.Equal(got.Doc, b.Doc) ||
		got.ApprovedBy != b.ApprovedBy || got.Reason != b.Reason || !got.At.Equal(pageNow) || got.At.Location() != time.UTC {
		t.Fatalf("GetPageBaseline = %+v, %v; want %+v in UTC", got, err, b)
	}
	wantState(t, s, store.PageState{Page: "/checkout", Fingerprint: "fp1", Doc: b.Doc, Since: pageNow})

	checked := pageNow.Add(time.Hour)
	drift := store.PageState{Page: "/checkout", Fingerprint: "fp2", Doc: []byte(`{"scripts":["a.js","x.js"]}`),
		Changed: true, Since: checked, CheckedAt: checked}
	observe(t, s, drift, true, store.PageState{Page: "/checkout", Fingerprint: "fp1", Doc: b.Doc, Since: pageNow})

	approved := store.PageBaseline{Page: "/checkout", Fingerprint: "fp2", Doc: drift.Doc, ApprovedBy: "admin:cli:bo",
		Reason: "x.js reviewed", At: pageNow.Add(2 * time.Hour)}
	if err := s.SetPageBaseline(ctx, approved); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetPageBaseline(ctx, "/checkout"); err != nil || got.Fingerprint != "fp2" ||
		got.ApprovedBy != "admin:cli:bo" || got.Reason != "x.js reviewed" || !got.At.Equal(approved.At) {
		t.Fatalf("GetPageBaseline after a second baseline = %+v, %v; want %+v", got, err, approved)
	}
	wantState(t, s, store.PageState{Page: "/checkout", Fingerprint: "fp2", Doc: drift.Doc, Since: approved.At, CheckedAt: checked})
}

// testObservePage walks ObservePage through a page's life: first seen, seen again, checked,
// flagged, changed.
func testObservePage(t *testing.T, s store.Store) {
	defer s.Close()
	first := store.PageState{Page: "/pay", Fingerprint: "fp1", Doc: []byte(`{"v":1}`), Since: pageNow, CheckedAt: pageNow}
	observe(t, s, first, true, store.PageState{})
	wantState(t, s, first)

	// The same again, with no check time: nothing written, the stored check time stays.
	again := first
	again.Since, again.CheckedAt = pageNow.Add(time.Minute), time.Time{}
	observe(t, s, again, false, first)
	wantState(t, s, first)

	// The same again, checked later: only the check time is stored; Since stays.
	checked := first
	checked.Since, checked.CheckedAt = pageNow.Add(2*time.Minute), pageNow.Add(2*time.Minute)
	observe(t, s, checked, false, first)
	stored := first
	stored.CheckedAt = checked.CheckedAt
	wantState(t, s, stored)

	// Changed flips on the same fingerprint: written.
	flagged := stored
	flagged.Changed, flagged.Since, flagged.CheckedAt = true, pageNow.Add(3*time.Minute), pageNow.Add(3*time.Minute)
	observe(t, s, flagged, true, stored)
	wantState(t, s, flagged)

	// A new fingerprint with no check time: written, with the caller's Since and the stored
	// check time.
	changed := store.PageState{Page: "/pay", Fingerprint: "fp2", Doc: []byte(`{"v":2}`), Changed: true, Since: pageNow.Add(4 * time.Minute)}
	observe(t, s, changed, true, flagged)
	want := changed
	want.CheckedAt = flagged.CheckedAt
	wantState(t, s, want)

	// A nil document is stored as an empty one; one of MaxPageDoc bytes fits.
	observe(t, s, store.PageState{Page: "/empty", Fingerprint: "fp0", Since: pageNow}, true, store.PageState{})
	wantState(t, s, store.PageState{Page: "/empty", Fingerprint: "fp0", Doc: []byte{}, Since: pageNow})
	big := store.PageState{Page: "/big", Fingerprint: "fpbig", Doc: bytes.Repeat([]byte("x"), store.MaxPageDoc), Since: pageNow}
	observe(t, s, big, true, store.PageState{})
	wantState(t, s, big)
}

// testListPageStates: every page's state, by page in byte order (upper case before lower).
func testListPageStates(t *testing.T, s store.Store) {
	defer s.Close()
	pages := []string{"/pay/b", "/pay/a", "/checkout", "/pay/B", "/pay"}
	for i, p := range pages {
		observe(t, s, store.PageState{Page: p, Fingerprint: fmt.Sprintf("fp%d", i), Since: pageNow}, true, store.PageState{})
	}
	all, err := s.ListPageStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range all {
		got = append(got, st.Page)
	}
	if want := "/checkout /pay /pay/B /pay/a /pay/b"; strings.Join(got, " ") != want {
		t.Fatalf("ListPageStates order %q, want %q", got, want)
	}
	if all[4].Fingerprint != "fp0" || !all[4].Since.Equal(pageNow) {
		t.Fatalf("listed state %+v, want fp0 since %v", all[4], pageNow)
	}
}

// testLeases: a free lease is taken, a live one refused to others and renewed by its holder,
// and an expired one taken over.
func testLeases(t *testing.T, s store.Store) {
	defer s.Close()
	claim := func(name, holder string, now, until time.Time, want bool) {
		t.Helper()
		if got, err := s.ClaimLease(ctx, name, holder, now, until); err != nil || got != want {
			t.Fatalf("ClaimLease(%s, %s, now+%v, now+%v) = %v, %v; want %v", name, holder,
				now.Sub(pageNow), until.Sub(pageNow), got, err, want)
		}
	}
	at := func(d time.Duration) time.Time { return pageNow.Add(d) }
	claim("page-check", "r1", at(0), at(time.Minute), true)
	claim("page-check", "r2", at(30*time.Second), at(90*time.Second), false)
	claim("other-job", "r2", at(30*time.Second), at(90*time.Second), true) // leases are per name
	claim("page-check", "r1", at(50*time.Second), at(2*time.Minute), true) // renewal moves until
	claim("page-check", "r2", at(time.Minute), at(3*time.Minute), false)   // r1's renewal holds
	claim("page-check", "r2", at(2*time.Minute), at(3*time.Minute), true)  // until <= now: expired
	claim("page-check", "r1", at(150*time.Second), at(4*time.Minute), false)
}

// testPagesInvalid: each refused argument fails with ErrInvalidArgument and stores nothing.
func testPagesInvalid(t *testing.T, s store.Store) {
	defer s.Close()
	tooBig := make([]byte, store.MaxPageDoc+1)
	ok := store.PageState{Page: "/pay", Fingerprint: "fp", Since: pageNow}
	base := func(mod func(*store.PageBaseline)) error {
		b := store.PageBaseline{Page: "/pay", Fingerprint: "fp", ApprovedBy: "admin:cli:ana", At: pageNow}
		mod(&b)
		return s.SetPageBaseline(ctx, b)
	}
	obs := func(mod func(*store.PageState)) error {
		st := ok
		mod(&st)
		_, _, err := s.ObservePage(ctx, st)
		return err
	}
	lease := func(name, holder string, until time.Time) error {
		_, err := s.ClaimLease(ctx, name, holder, pageNow, until)
		return err
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{name: "baseline with an empty page", call: func() error { return base(func(b *store.PageBaseline) { b.Page = "" }) }},
		{name: "baseline with an empty fingerprint", call: func() error { return base(func(b *store.PageBaseline) { b.Fingerprint = "" }) }},
		{name: "baseline with a document over MaxPageDoc", call: func() error { return base(func(b *store.PageBaseline) { b.Doc = tooBig }) }},
		{name: "observe an empty page", call: func() error { return obs(func(st *store.PageState) { st.Page = "" }) }},
		{name: "observe an empty fingerprint", call: func() error { return obs(func(st *store.PageState) { st.Fingerprint = "" }) }},
		{name: "observe a document over MaxPageDoc", call: func() error { return obs(func(st *store.PageState) { st.Doc = tooBig }) }},
		{name: "lease with an empty name", call: func() error { return lease("", "r1", pageNow.Add(time.Minute)) }},
		{name: "lease with an empty holder", call: func() error { return lease("job", "", pageNow.Add(time.Minute)) }},
		{name: "lease until now", call: func() error { return lease("job", "r1", pageNow) }},
		{name: "lease until before now", call: func() error { return lease("job", "r1", pageNow.Add(-time.Second)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
	if all, err := s.ListPageStates(ctx); err != nil || len(all) != 0 {
		t.Errorf("refused calls stored states: %+v, %v", all, err)
	}
	if _, err := s.GetPageBaseline(ctx, "/pay"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused calls stored a baseline: %v", err)
	}
	if held, err := s.ClaimLease(ctx, "job", "r2", pageNow, pageNow.Add(time.Minute)); err != nil || !held {
		t.Errorf("refused claims took the lease: ClaimLease by another holder = %v, %v", held, err)
	}
}
