package billing

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Values of the test modes.
const (
	modeOn         = "on"
	modeOff        = "off"
	widgetOriginal = "original"
	widgetTampered = "tampered"
)

// maxModeBody bounds the body of POST /_demo/mode.
const maxModeBody = 4 << 10

// modeError is a refused POST /_demo/mode. Its message is fixed text (a field name and the
// values it takes, never what was sent), so it is what the client is told.
type modeError struct {
	status int
	msg    string
}

func (e *modeError) Error() string { return e.msg }

func badMode(msg string) error { return &modeError{status: http.StatusBadRequest, msg: msg} }

// demoModes are the test modes, as GET and POST /_demo/mode show them.
type demoModes struct {
	// Skimmer is "on" when the checkout page carries the demo skimmer.
	Skimmer string `json:"skimmer"`
	// Widget is "tampered" when /widget.js serves other bytes than WidgetScript.
	Widget string `json:"widget"`
	// DropHeader names a security header the checkout page leaves out, lower case.
	DropHeader string `json:"drop_header"`
}

func defaultModes() demoModes {
	return demoModes{Skimmer: modeOff, Widget: widgetOriginal}
}

// droppable reports whether drop_header may name h: a header the page sets for its
// security. Content-Type is not one: net/http would sniff one in.
func droppable(h string) bool {
	switch h {
	case "permissions-policy", "cross-origin-opener-policy", "referrer-policy",
		"x-content-type-options", "cache-control":
		return true
	}
	return false
}

// demoState is the test modes and the collector's counts, shared by the app and the widget
// origin; safe for concurrent use.
type demoState struct {
	mu         sync.Mutex
	modes      demoModes
	hits       int64
	withDigits int64
}

func newDemoState() *demoState {
	return &demoState{modes: defaultModes()}
}

func (s *demoState) current() demoModes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modes
}

func (s *demoState) collect(digits bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits++
	if digits {
		s.withDigits++
	}
}

func (s *demoState) counts() collected {
	s.mu.Lock()
	defer s.mu.Unlock()
	return collected{Hits: s.hits, WithDigits: s.withDigits}
}

// set applies the form of POST /_demo/mode: all of it or, on an error, none of it. reset=1
// first goes back to the defaults and zeroes the collector's counts.
func (s *demoState) set(form url.Values, hasWidget bool) (demoModes, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, reset := s.modes, false
	for _, k := range slices.Sorted(maps.Keys(form)) {
		v := form.Get(k)
		switch k {
		case "reset":
			if v != "1" {
				return demoModes{}, badMode("reset: want 1")
			}
			reset = true
		case "skimmer":
			if v != modeOn && v != modeOff {
				return demoModes{}, badMode("skimmer: want on or off")
			}
			if v == modeOn && !hasWidget {
				return demoModes{}, &modeError{status: http.StatusConflict, msg: "skimmer: the skimmer beacons to the widget origin, and the app has none"}
			}
		case "widget":
			if v != widgetOriginal && v != widgetTampered {
				return demoModes{}, badMode("widget: want original or tampered")
			}
		case "drop_header":
			if v = strings.ToLower(strings.TrimSpace(v)); v != "" && !droppable(v) {
				return demoModes{}, badMode("drop_header: want one of permissions-policy, cross-origin-opener-policy, referrer-policy, x-content-type-options, cache-control, or empty")
			}
		default:
			return demoModes{}, badMode("unknown field: want skimmer, widget, drop_header or reset")
		}
		if len(form[k]) != 1 {
			return demoModes{}, badMode(k + ": given more than once")
		}
	}
	if reset {
		next = defaultModes()
		s.hits, s.withDigits = 0, 0
	}
	if v, ok := form["skimmer"]; ok {
		next.Skimmer = v[0]
	}
	if v, ok := form["widget"]; ok {
		next.Widget = v[0]
	}
	if v, ok := form["drop_header"]; ok {
		next.DropHeader = strings.ToLower(strings.TrimSpace(v[0]))
	}
	s.modes = next
	return next, nil
}

// modes returns the current test modes (the defaults without Options.TestModes).
func (a *App) modes() demoModes {
	if a.demo == nil {
		return defaultModes()
	}
	return a.demo.current()
}

func (a *App) handleGetMode(w http.ResponseWriter, _ *http.Request) {
	writeModes(w, a.demo.current())
}

// handleSetMode changes the test modes from form fields (body or query): skimmer=on|off,
// widget=original|tampered, drop_header=<header>|"" and reset=1.
func (a *App) handleSetMode(w http.ResponseWriter, r *http.Request) {
	// A browser says where a request comes from: a page on another origin (the skimmer's,
	// say) must not flip the switches. Clients that are not browsers send no such header.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		http.Error(w, "the demo modes cannot be changed from another site", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxModeBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	m, err := a.demo.set(r.Form, a.widgetOrigin != "")
	var me *modeError
	switch {
	case errors.As(err, &me):
		http.Error(w, me.msg, me.status)
		return
	case err != nil:
		http.Error(w, "could not change the modes", http.StatusInternalServerError)
		return
	}
	writeModes(w, m)
}

func writeModes(w http.ResponseWriter, m demoModes) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// Three strings cannot fail to encode; a write error means the client has gone.
	_ = json.NewEncoder(w).Encode(m)
}
