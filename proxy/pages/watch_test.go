package pages

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
)

// memRecorder keeps the events written.
type memRecorder struct {
	mu  sync.Mutex
	evs []audit.Event
}

func (m *memRecorder) Record(_ context.Context, ev audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, ev)
	return nil
}

func (m *memRecorder) count(typ string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// countingStore counts lease claims and can fail the page reads.
type countingStore struct {
	store.Pages
	claims atomic.Int64
	fail   atomic.Bool
}

func (c *countingStore) ClaimLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	defer c.claims.Add(1)
	return c.Pages.ClaimLease(ctx, name, holder, now, until)
}

func (c *countingStore) GetPageBaseline(ctx context.Context, page string) (store.PageBaseline, error) {
	if c.fail.Load() {
		return store.PageBaseline{}, errors.New("database unreachable")
	}
	return c.Pages.GetPageBaseline(ctx, page)
}

func openStore(t *testing.T) *sqlite.Store {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// newTestWatcher is a watcher of one page, /pay, served by an upstream of page's body.
func newTestWatcher(t *testing.T, st store.Pages, rec audit.Recorder, holder string, onChange string) *Watcher {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><p>pay</p>")
	}))
	t.Cleanup(up.Close)
	w, err := NewWatcher(Options{
		Pages: []config.Page{config.Page{Path: "/pay", OnChange: onChange}.WithDefaults()}, Store: st, Recorder: rec,
		Hasher: NewHasher(http.DefaultClient, time.Minute, "https://pay.example"),
		Fetch: func(ctx context.Context, path string) (*http.Response, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.URL+path, nil)
			return http.DefaultClient.Do(req)
		},
		Origin: "https://pay.example", ReportPath: "/_tokenwall/csp-report", MaxPageBytes: 1 << 20,
		Interval: time.Hour, Holder: holder, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestScheduledCheckRunsOnOneReplica: two replicas on one store start their scheduled check
// at once; one of them checks, the other finds the lease taken.
func TestScheduledCheckRunsOnOneReplica(t *testing.T) {
	st := &countingStore{Pages: openStore(t)}
	rec := &memRecorder{}
	a, b := newTestWatcher(t, st, rec, "replica-a", config.PageAlert), newTestWatcher(t, st, rec, "replica-b", config.PageAlert)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range []*Watcher{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	deadline := time.Now().Add(20 * time.Second)
	for st.claims.Load() < 2 || rec.count(audit.EventPageChecked) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("claims %d, checks %d", st.claims.Load(), rec.count(audit.EventPageChecked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if n := rec.count(audit.EventPageChecked); n != 1 {
		t.Errorf("%d page_checked records from two replicas in one interval; want 1", n)
	}
	// Without a baseline the check is a change: written once.
	if n := rec.count(audit.EventPageChanged); n != 1 {
		t.Errorf("%d page_changed records; want 1", n)
	}
}

// TestBlockFailsClosed: a page with on_change block is withheld when its state cannot be
// read, and when it has no baseline; with a baseline it is served.
func TestBlockFailsClosed(t *testing.T) {
	st := &countingStore{Pages: openStore(t)}
	rec := &memRecorder{}
	w := newTestWatcher(t, st, rec, "replica-a", config.PageBlock)
	pg, _ := w.Page("/pay")
	ctx := context.Background()
	if !w.Blocked(ctx, pg) {
		t.Error("a page without a baseline is served under on_change block")
	}
	if _, _, err := w.Baseline(ctx, "/pay", "admin:test:ops", "first", false); err != nil {
		t.Fatal(err)
	}
	if w.Blocked(ctx, pg) {
		t.Error("the page matches its baseline and is withheld")
	}
	st.fail.Store(true)
	pg.mu.Lock()
	pg.state.loaded = time.Time{} // the copy has expired
	pg.mu.Unlock()
	if !w.Blocked(ctx, pg) {
		t.Error("a page whose state cannot be read is served under on_change block")
	}
	if n := rec.count(audit.EventPageBaseline); n != 1 {
		t.Errorf("%d page_baseline records; want 1", n)
	}
	if _, _, err := w.Baseline(ctx, "/nope", "admin:test:ops", "x", false); !errors.Is(err, ErrNotAPage) || !strings.Contains(err.Error(), "/nope") {
		t.Errorf("baseline of an unknown page: %v", err)
	}
}

// TestTransitionRecordsAreBounded: a page that flaps (or that a client makes differ on
// every response) costs a burst of transition records, then one per transitionEvery; the
// next record says how many were not written.
func TestTransitionRecordsAreBounded(t *testing.T) {
	pg := &Page{}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	written := 0
	for range 100 {
		if _, ok := pg.takeRecord(now); ok {
			written++
		}
	}
	if written != transitionBurst {
		t.Fatalf("%d of 100 transitions at once recorded; want %d", written, transitionBurst)
	}
	n, ok := pg.takeRecord(now.Add(transitionEvery))
	if !ok || n != 100-transitionBurst {
		t.Errorf("after %s: recorded %t, suppressed %d; want true, %d", transitionEvery, ok, n, 100-transitionBurst)
	}
	if _, ok := pg.takeRecord(now.Add(transitionEvery)); ok {
		t.Error("a second record in the same minute after the burst")
	}
}
