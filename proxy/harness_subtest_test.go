package proxy_test

import "testing"

// subtest runs f as the subtest name of t with h's request helpers (api, post, do, events,
// logText, waitDelivered) reporting to the subtest while it runs. Without the switch, a
// failed request inside a subtest would call FailNow on the parent test from the subtest's
// goroutine, which testing forbids. Subtests of one harness run one after another (none calls
// t.Parallel), so h.t has one writer at a time.
func (h *harness) subtest(t *testing.T, name string, f func(t *testing.T)) bool {
	t.Helper()
	return t.Run(name, func(t *testing.T) {
		parent := h.t
		h.t = t
		defer func() { h.t = parent }()
		f(t)
	})
}
