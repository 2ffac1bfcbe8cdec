package config

import (
	"strings"
	"testing"
	"time"
)

// TestAPIThreeDSDefaults: no return_url is accepted until origins are listed; intents wait
// for the customer a day and are looked for every five minutes.
func TestAPIThreeDSDefaults(t *testing.T) {
	a := Default().API
	if len(a.ReturnURLOrigins) != 0 || a.RequiresActionTimeout.D() != 24*time.Hour || a.SweepInterval.D() != 5*time.Minute {
		t.Errorf("defaults: origins %v, requires_action_timeout %s, sweep_interval %s", a.ReturnURLOrigins, a.RequiresActionTimeout, a.SweepInterval)
	}
}

// TestAPIThreeDSValidate: each bad value is one problem naming its key and why.
func TestAPIThreeDSValidate(t *testing.T) {
	on := func() Config {
		c := validConfig()
		c.API.Enabled = true
		return c
	}
	good := on()
	good.API.ReturnURLOrigins = []string{"https://shop.example.com", "https://shop.example.com:8443", "http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:9000"}
	good.API.RequiresActionTimeout, good.API.SweepInterval = Duration(5*time.Minute), Duration(5*time.Minute)
	if err := good.Validate(); err != nil {
		t.Fatalf("valid origins and bounds: %v", err)
	}
	off := validConfig()
	off.API.ReturnURLOrigins, off.API.SweepInterval = []string{"ftp://x"}, 0
	if err := off.Validate(); err != nil {
		t.Errorf("the api section is checked only when enabled: %v", err)
	}
	tests := []struct {
		name      string
		mutate    func(*API)
		key, want string
	}{
		{name: "http on a public host", mutate: func(a *API) { a.ReturnURLOrigins = []string{"http://shop.example.com"} },
			key: "api.return_url_origins[0]", want: "must be https (http only on a loopback address)"},
		{name: "other scheme", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://ok.example.com", "ftp://shop.example.com"} },
			key: "api.return_url_origins[1]", want: "must be https"},
		{name: "trailing slash", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://shop.example.com/"} },
			key: "api.return_url_origins[0]", want: "is not a bare origin"},
		{name: "path", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://shop.example.com/return"} },
			key: "api.return_url_origins[0]", want: "is not a bare origin"},
		{name: "query", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://shop.example.com?x=1"} },
			key: "api.return_url_origins[0]", want: "is not a bare origin"},
		{name: "empty query", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://shop.example.com?"} },
			key: "api.return_url_origins[0]", want: "is not a bare origin"},
		{name: "fragment", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://shop.example.com#x"} },
			key: "api.return_url_origins[0]", want: "is not a bare origin"},
		{name: "user", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://u@shop.example.com"} },
			key: "api.return_url_origins[0]", want: "is not a bare origin"},
		{name: "no host", mutate: func(a *API) { a.ReturnURLOrigins = []string{"shop.example.com"} },
			key: "api.return_url_origins[0]", want: "is not an origin"},
		{name: "empty", mutate: func(a *API) { a.ReturnURLOrigins = []string{""} },
			key: "api.return_url_origins[0]", want: "is not an origin"},
		{name: "upper case", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://Shop.example.com"} },
			key: "api.return_url_origins[0]", want: "lower case"},
		{name: "port out of range", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://shop.example.com:70000"} },
			key: "api.return_url_origins[0]", want: "port outside 1-65535"},
		{name: "empty port", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://shop.example.com:"} },
			key: "api.return_url_origins[0]", want: "empty port"},
		{name: "twice", mutate: func(a *API) { a.ReturnURLOrigins = []string{"https://a.example.com", "https://a.example.com"} },
			key: "api.return_url_origins[1]", want: "listed twice"},
		{name: "timeout too short", mutate: func(a *API) { a.RequiresActionTimeout = Duration(time.Minute) },
			key: "api.requires_action_timeout", want: "1m0s is not between 5m and 168h"},
		{name: "timeout too long", mutate: func(a *API) { a.RequiresActionTimeout = Duration(8 * 24 * time.Hour) },
			key: "api.requires_action_timeout", want: "not between 5m and 168h"},
		{name: "sweep too often", mutate: func(a *API) { a.SweepInterval = Duration(time.Second) },
			key: "api.sweep_interval", want: "1s is not between 10s and 1h"},
		{name: "sweep unset", mutate: func(a *API) { a.SweepInterval = 0 },
			key: "api.sweep_interval", want: "not between 10s and 1h"},
		{name: "sweep longer than the timeout", mutate: func(a *API) {
			a.RequiresActionTimeout, a.SweepInterval = Duration(10*time.Minute), Duration(30*time.Minute)
		}, key: "api.sweep_interval", want: "longer than api.requires_action_timeout (10m0s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := on()
			tc.mutate(&c.API)
			err := c.Validate()
			requireProblem(t, err, tc.key, tc.want)
			if lines := problemLines(err); len(lines) != 1 {
				t.Errorf("got %d problems, want 1:\n%v", len(lines), err)
			}
		})
	}
}

// TestAPIThreeDSFromYAMLAndEnv: the keys load from a file, strictly, and the durations from
// the environment (a list is not overridable there).
func TestAPIThreeDSFromYAMLAndEnv(t *testing.T) {
	y := `
api:
  return_url_origins: [https://shop.example.com, http://127.0.0.1:8080]
  requires_action_timeout: 2h
  sweep_interval: 1m
`
	c, err := Parse([]byte(y), []string{"TOKENWALL_API_SWEEP_INTERVAL=30s"})
	if err != nil {
		t.Fatal(err)
	}
	a := c.API
	if strings.Join(a.ReturnURLOrigins, " ") != "https://shop.example.com http://127.0.0.1:8080" ||
		a.RequiresActionTimeout.D() != 2*time.Hour || a.SweepInterval.D() != 30*time.Second {
		t.Errorf("api: origins %v, requires_action_timeout %s, sweep_interval %s", a.ReturnURLOrigins, a.RequiresActionTimeout, a.SweepInterval)
	}
	if _, err := Parse([]byte("api:\n  return_urls: [https://shop.example.com]\n"), nil); err == nil || !strings.Contains(err.Error(), "return_urls") {
		t.Errorf("an unknown api key: %v", err)
	}
	if _, err := Parse([]byte(y), []string{"TOKENWALL_API_RETURN_URL_ORIGINS=https://shop.example.com"}); err == nil ||
		!strings.Contains(err.Error(), "TOKENWALL_API_RETURN_URL_ORIGINS") {
		t.Errorf("a list from the environment: %v", err)
	}
}
