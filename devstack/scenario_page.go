package devstack

import (
	"crypto/subtle"
	"html/template"
	"net/http"
	"net/url"
)

// pagePrefix starts the paths the scenario serves itself, never forwarded to stripe-mock.
const pagePrefix = "/scenario/"

// challengePage is the 3-D Secure test challenge, like the page Stripe shows for its test
// cards (https://docs.stripe.com/payments/3d-secure): the cardholder approves or denies.
var challengePage = template.Must(template.New("challenge").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3-D Secure test challenge</title>
<style>body{font-family:sans-serif;margin:3em auto;max-width:28em}button{font-size:1.1em;margin:.5em}</style></head>
<body><h1>3-D Secure test challenge</h1>
<p>{{.Object}} <code>{{.ID}}</code> is <b>{{.Status}}</b>.</p>
{{if .Pending}}<p>Complete or fail the authentication of this test payment.</p>
<form method="post" action="/scenario/authenticate/approve"><input type="hidden" name="{{.Param}}" value="{{.ID}}"><input type="hidden" name="client_secret" value="{{.Secret}}"><button type="submit" id="approve">Approve</button></form>
<form method="post" action="/scenario/authenticate/deny"><input type="hidden" name="{{.Param}}" value="{{.ID}}"><input type="hidden" name="client_secret" value="{{.Secret}}"><button type="submit" id="deny">Deny</button></form>
{{else}}<p>There is nothing to authenticate.</p>{{end}}
</body></html>
`))

// doneRedirectless is the page after a decision on an intent that has no return_url.
var doneRedirectless = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>3-D Secure test challenge</title></head>
<body><h1>Authentication {{.}}</h1><p>You can close this page.</p></body></html>
`))

// challenge is what the page shows.
type challenge struct {
	Param, Object, ID, Secret, Status string
	Pending                           bool
}

// servePage serves the challenge page and its two decisions.
func (s *Scenario) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == pagePrefix+"authenticate":
		c, status := s.findChallenge(r.URL.Query())
		if status != http.StatusOK {
			http.Error(w, http.StatusText(status), status)
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		_ = challengePage.Execute(w, c)
	case r.Method == http.MethodPost && r.URL.Path == pagePrefix+"authenticate/approve":
		s.decide(w, r, true)
	case r.Method == http.MethodPost && r.URL.Path == pagePrefix+"authenticate/deny":
		s.decide(w, r, false)
	default:
		http.NotFound(w, r)
	}
}

// findChallenge looks the intent up and checks its client secret in constant time.
func (s *Scenario) findChallenge(q url.Values) (challenge, int) {
	secret := q.Get("client_secret")
	s.mu.Lock()
	defer s.mu.Unlock()
	var c challenge
	switch {
	case q.Has("intent"):
		p, ok := s.intents.get(q.Get("intent"))
		if !ok {
			return c, http.StatusNotFound
		}
		c = challenge{Param: "intent", Object: "PaymentIntent", ID: p.id, Secret: p.secret, Status: p.status}
	case q.Has("setup_intent"):
		si, ok := s.setups.get(q.Get("setup_intent"))
		if !ok {
			return c, http.StatusNotFound
		}
		c = challenge{Param: "setup_intent", Object: "SetupIntent", ID: si.id, Secret: si.secret, Status: si.status}
	default:
		return c, http.StatusNotFound
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return challenge{}, http.StatusForbidden
	}
	c.Pending = c.Status == stRequiresAction
	return c, http.StatusOK
}

// decide applies the cardholder's decision and sends the browser back to the return_url
// with the parameters Stripe adds (https://docs.stripe.com/payments/3d-secure): the intent's
// id and client secret and redirect_status.
func (s *Scenario) decide(w http.ResponseWriter, r *http.Request, approve bool) {
	r.Body = http.MaxBytesReader(w, r.Body, scnMaxBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "unreadable form", http.StatusBadRequest)
		return
	}
	c, status := s.findChallenge(r.PostForm)
	if status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	returnURL, ok := s.applyDecision(c, approve)
	if !ok {
		http.Error(w, "nothing to authenticate: the intent is not in requires_action", http.StatusConflict)
		return
	}
	result := "failed"
	if approve {
		result = "succeeded"
	}
	u, err := url.Parse(returnURL)
	if returnURL == "" || err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = doneRedirectless.Execute(w, result)
		return
	}
	q := u.Query()
	if c.Param == "intent" {
		q.Set("payment_intent", c.ID)
		q.Set("payment_intent_client_secret", c.Secret)
	} else {
		q.Set("setup_intent", c.ID)
		q.Set("setup_intent_client_secret", c.Secret)
	}
	q.Set("redirect_status", result)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// applyDecision moves the intent out of requires_action and returns its return_url; ok is
// false when it was not waiting for authentication (any more).
func (s *Scenario) applyDecision(c challenge, approve bool) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Param == "intent" {
		p, found := s.intents.get(c.ID)
		if !found || p.status != stRequiresAction {
			return "", false
		}
		if approve {
			s.authorizePayment(p, s.method(p.pm))
		} else {
			s.failAuthentication(p)
		}
		s.logf("payment_intent %s requires_action -> %s (challenge)", p.id, p.status)
		return p.returnURL, true
	}
	si, found := s.setups.get(c.ID)
	if !found || si.status != stRequiresAction {
		return "", false
	}
	if approve {
		s.succeedSetup(si, s.method(si.pm))
	} else {
		s.failSetupAuthentication(si)
	}
	s.logf("setup_intent %s requires_action -> %s (challenge)", si.id, si.status)
	return si.returnURL, true
}
