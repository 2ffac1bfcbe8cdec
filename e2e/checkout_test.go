package e2e_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

// stepTimeout bounds one browser flow (load, fill, submit, read).
const stepTimeout = 30 * time.Second

// card is what the customer types into the checkout form.
type card struct {
	name, number, exp, cvc string
}

// cardFields are the names of the checkout form's card inputs; none may reach the app.
var cardFields = []string{"card_name", "card_number", "card_exp", "card_cvc"}

// savedResult is the text of #result once the card is tokenized. stripe-mock answers every
// card with the same fixture, a Visa ending 4242.
var savedResult = regexp.MustCompile(`^Card saved: Visa •••• 4242 \(pm_\w+\)$`)

// cvcWritten matches the test card's CVC next to its field name, in a form body, JSON, a
// query or Go's %+v of a map.
var cvcWritten = regexp.MustCompile(`(?i)cvc\W{0,3}123\b`)

// received is one body the billing app recorded, as GET /received lists it.
type received struct {
	Path           string `json:"path"`
	ContentType    string `json:"content_type"`
	Body           string `json:"body"`
	SignatureValid bool   `json:"signature_valid"`
}

// TestCheckoutInBrowser runs the demo checkout in headless Chromium against `tokenwall-dev`:
// a card is tokenized and the app gets only the token; a Luhn-invalid card is refused with
// the form shown again, empty; the configuration the stack wrote serves `tokenwall audit
// verify`; the stack shuts down cleanly on SIGTERM; and no file the run
// wrote holds a card number or the CVC. The subtests share one stack and run in order.
func TestCheckoutInBrowser(t *testing.T) {
	requireChromium(t)
	artifacts := testkit.ArtifactsDir(t) // the subtests' own folders are below it
	start := time.Now()
	stack := startDevStack(t)
	t.Logf("tokenwall built and dev stack ready in %s at %s", time.Since(start).Round(time.Millisecond), stack.BaseURL)
	br := startBrowser(t)
	client := stack.Client(t)

	t.Run("card is tokenized", func(t *testing.T) {
		checkCardTokenized(t, br, client, stack, artifacts)
	})
	t.Run("Luhn-invalid number is refused", func(t *testing.T) {
		checkLuhnInvalidRefused(t, br, client, stack)
	})
	t.Run("its configuration file serves the subcommands", func(t *testing.T) {
		checkDevConfigFile(t, stack)
	})
	t.Run("SIGTERM stops everything", func(t *testing.T) {
		checkSIGTERMStopsEverything(t, br, stack)
	})
	t.Run("no card in any file", func(t *testing.T) {
		checkNoCardInAnyFile(t, stack, artifacts)
	})
	t.Run("no CVC in any file", func(t *testing.T) {
		checkNoCVCInAnyFile(t, artifacts)
	})
}

// checkCardTokenized submits a valid card: the page shows the saved card, the app gets one
// signed post with the token and no card data, and a screenshot of the result is kept.
func checkCardTokenized(t *testing.T, br *browser, client *http.Client, stack *devStack, artifacts string) {
	t.Helper()
	before := len(receivedBodies(t, client, stack))
	ctx, cancel := context.WithTimeout(br.Ctx, stepTimeout)
	defer cancel()

	openCheckout(t, ctx, stack)
	checkCardAutocomplete(t, ctx)

	status := submitCard(t, ctx, card{name: "Ada Lovelace", number: "4242 4242 4242 4242", exp: "12/34", cvc: "123"})
	if status != http.StatusOK {
		t.Errorf("POST /checkout/submit answered %d; want 200", status)
	}
	checkResultPage(t, ctx, artifacts)
	checkTokenForwarded(t, receivedBodies(t, client, stack)[before:])
}

// checkCardAutocomplete checks the card inputs' autocomplete attributes. The browser's
// autofill and password managers rely on these to treat the fields as a card, and to keep
// the number out of ordinary form history.
func checkCardAutocomplete(t *testing.T, ctx context.Context) {
	t.Helper()
	for field, want := range map[string]string{
		"card_name": "cc-name", "card_number": "cc-number", "card_exp": "cc-exp", "card_cvc": "cc-csc",
	} {
		got, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID(field), "autocomplete"))
		if err != nil {
			t.Fatalf("#%s autocomplete: %v", field, err)
		}
		if !got.Exists || got.Value != want {
			t.Errorf("#%s autocomplete = %q (present: %t); want %q", field, got.Value, got.Exists, want)
		}
	}
}

// checkResultPage checks the page shown after a card is saved: #result names the saved card,
// the page holds no card number, and its screenshot goes to artifacts.
func checkResultPage(t *testing.T, ctx context.Context, artifacts string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("result"))); err != nil {
		t.Fatalf("wait for #result: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result")))
	if err != nil {
		t.Fatalf("read #result: %v", err)
	}
	if !savedResult.MatchString(text) {
		t.Errorf("#result = %q; want it to match %s", scrub.Text([]byte(text)), savedResult)
	}
	html := pageHTML(t, ctx)
	if scrub.ContainsPAN([]byte(html)) || strings.Contains(html, "4242424242424242") {
		t.Fatal("the result page holds the card number")
	}
	// Only now, on the result page, is a screenshot safe: the filled form would hold the
	// card number as pixels.
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(artifacts, "result.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkTokenForwarded checks what the app received for a saved card (got: the bodies
// recorded since the card was submitted): exactly one signed POST /checkout/submit with the
// token in place of the card.
func checkTokenForwarded(t *testing.T, got []received) {
	t.Helper()
	var posts []received
	for _, r := range got {
		if r.Path == "/checkout/submit" {
			posts = append(posts, r)
		}
	}
	if len(posts) != 1 || len(got) != 1 {
		t.Fatalf("the app received %d bodies, %d of them POST /checkout/submit; want exactly that one", len(got), len(posts))
	}
	p := posts[0]
	if !p.SignatureValid {
		t.Error("the app could not verify tokenwall's signature on the checkout post")
	}
	if !strings.Contains(p.Body, "payment_method=pm_") {
		t.Errorf("forwarded body has no payment_method=pm_…: %s", scrub.Text([]byte(p.Body)))
	}
	assertNoCard(t, p.Body, "4242424242424242")
}

// checkLuhnInvalidRefused submits a card number that fails the Luhn check: the app shows its
// form again, empty, with the error, and gets the refusal without a token or card data.
func checkLuhnInvalidRefused(t *testing.T, br *browser, client *http.Client, stack *devStack) {
	t.Helper()
	before := len(receivedBodies(t, client, stack))
	ctx, cancel := context.WithTimeout(br.Ctx, stepTimeout)
	defer cancel()

	openCheckout(t, ctx, stack)
	status := submitCard(t, ctx, card{name: "Ada Lovelace", number: "4242 4242 4242 4241", exp: "12/34", cvc: "123"})
	if status != http.StatusUnprocessableEntity {
		t.Errorf("POST /checkout/submit answered %d; want 422", status)
	}
	checkErrorPage(t, ctx)
	checkRefusalForwarded(t, receivedBodies(t, client, stack)[before:])
}

// checkErrorPage checks the page shown after a refused card: #error carries the code and
// the form comes back without the number, its card fields empty.
func checkErrorPage(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("error"))); err != nil {
		t.Fatalf("wait for #error: %v", err)
	}
	code, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("error"), "data-code"))
	if err != nil {
		t.Fatalf("#error data-code: %v", err)
	}
	if code.Value != "invalid_number" {
		t.Errorf("#error data-code = %q; want invalid_number", code.Value)
	}
	// The app renders its form again; the number must not come back in it.
	html := pageHTML(t, ctx)
	for _, f := range []struct{ form, s string }{
		{"grouped", "4242 4242 4242 4241"}, {"plain", "4242424242424241"}, {"form-encoded", "4242+4242"},
	} {
		if strings.Contains(html, f.s) {
			t.Errorf("the error page holds the card number (%s)", f.form)
		}
	}
	for _, field := range cardFields {
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(field)))
		if err != nil {
			t.Fatalf("#%s value: %v", field, err)
		}
		if v != "" {
			t.Errorf("#%s is not empty on the error page (%d characters)", field, len(v))
		}
	}
}

// checkRefusalForwarded checks what the app received for a refused card (got: the bodies
// recorded since the card was submitted): one signed POST /checkout/submit with the error
// code, no token and no card data.
func checkRefusalForwarded(t *testing.T, got []received) {
	t.Helper()
	if len(got) != 1 || got[0].Path != "/checkout/submit" {
		t.Fatalf("the app received %d new bodies; want the one POST /checkout/submit", len(got))
	}
	p := got[0]
	if !p.SignatureValid {
		t.Error("the app could not verify tokenwall's signature on the refused post")
	}
	form, err := url.ParseQuery(p.Body)
	if err != nil {
		t.Fatalf("forwarded body is not a form: %v", err)
	}
	if form.Get("card_error") != "invalid_number" || form.Has("payment_method") {
		t.Errorf("forwarded card_error=%q, payment_method present: %t; want invalid_number and no token",
			form.Get("card_error"), form.Has("payment_method"))
	}
	assertNoCard(t, p.Body, "4242424242424241")
}

// checkSIGTERMStopsEverything closes the browser, sends tokenwall-dev SIGTERM and checks it
// exits with status 0, its ports closed and no child left running, having printed no card.
func checkSIGTERMStopsEverything(t *testing.T, br *browser, stack *devStack) {
	t.Helper()
	br.Close() // no browser connection left to hold up the shutdown

	checkChildrenFound(t, stack)

	start := time.Now()
	waitErr, err := stack.terminate(stopTimeout)
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, stack.Scrubbed())
	}
	t.Logf("tokenwall-dev exited %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	if waitErr != nil {
		t.Errorf("tokenwall-dev exited with %v; want status 0; output:\n%s", waitErr, stack.Scrubbed())
	}
	for _, port := range []int{stack.Port, stack.AppPort, stack.AdminPort} {
		if err := refused(port); err != nil {
			t.Error(err)
		}
	}
	left, err := processesIn(stack.Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range left {
		t.Errorf("left running after tokenwall-dev exited: %v", p)
	}
	if scrub.ContainsPAN(stack.Output()) {
		t.Error("tokenwall-dev printed a card number")
	}
}

// checkChildrenFound checks that the search for leftovers by working directory finds the
// live children of tokenwall-dev, stripe-mock and vault, before the shutdown: otherwise an
// empty result after it would prove nothing.
func checkChildrenFound(t *testing.T, stack *devStack) {
	t.Helper()
	children, err := processesIn(stack.Data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range children {
		if p.PPid != stack.Pid() {
			t.Errorf("unexpected process in the data folder: %v", p)
		}
		names = append(names, p.Comm)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"stripe-mock", "vault"}) {
		t.Errorf("children of tokenwall-dev found by working directory: %v; want stripe-mock and vault", children)
	}
}

// checkNoCardInAnyFile scans the stack's data folder and the artifacts for card numbers,
// having made sure tokenwall's log of the checkout posts is there to be scanned.
func checkNoCardInAnyFile(t *testing.T, stack *devStack, artifacts string) {
	t.Helper()
	// The scan must have something to read: tokenwall's own log of the checkout posts.
	logData, err := os.ReadFile(filepath.Join(stack.Data, "logs", "tokenwall.log"))
	if err != nil {
		t.Fatalf("tokenwall log: %v", err)
	}
	if !strings.Contains(string(logData), `"/checkout/submit"`) {
		t.Error("tokenwall.log does not mention /checkout/submit; the scan below proves little")
	}
	// The data folder lies inside the test's artifacts folder; scan both, as the final
	// `make test` scan would, and report each finding once.
	seen := map[testkit.Finding]bool{}
	for _, dir := range []string{stack.Data, artifacts} {
		findings, err := testkit.ScanForCards(dir)
		if err != nil {
			t.Errorf("scan %s: %v", dir, err)
		}
		for _, f := range findings {
			if !seen[f] {
				seen[f] = true
				t.Errorf("card number in a file: %v", f)
			}
		}
	}
}

// checkNoCVCInAnyFile fails for each file under artifacts that holds the test card's CVC.
// ScanForCards looks for card numbers only; the CVC the test typed must not be stored
// anywhere either (PCI DSS 3.3.1).
func checkNoCVCInAnyFile(t *testing.T, artifacts string) {
	t.Helper()
	err := filepath.WalkDir(artifacts, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !cvcWritten.Match(b) {
			return nil
		}
		t.Errorf("%s holds the CVC", path)
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// openCheckout loads the checkout page through tokenwall.
func openCheckout(t *testing.T, ctx context.Context, stack *devStack) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(stack.BaseURL+"/checkout"))
	if err != nil {
		t.Fatalf("open %s/checkout: %v", stack.BaseURL, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /checkout answered %d; want 200", resp.Status)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("pay"))); err != nil {
		t.Fatalf("wait for #pay: %v", err)
	}
}

// submitCard types c into the form, clicks Pay and waits for the page that answers the post;
// it returns that page's HTTP status.
func submitCard(t *testing.T, ctx context.Context, c card) int64 {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("card_name"), c.name),
		chromedp.SendKeys(chromedp.ID("card_number"), c.number),
		chromedp.SendKeys(chromedp.ID("card_exp"), c.exp),
		chromedp.SendKeys(chromedp.ID("card_cvc"), c.cvc),
	); err != nil {
		t.Fatalf("fill the form: %v", err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("pay")))
	if err != nil {
		t.Fatalf("click #pay: %v", err)
	}
	return resp.Status
}

// pageHTML returns the current document's HTML.
func pageHTML(t *testing.T, ctx context.Context) string {
	t.Helper()
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatalf("page HTML: %v", err)
	}
	return html
}

// receivedBodies lists what the billing app has received, read through tokenwall.
func receivedBodies(t *testing.T, client *http.Client, stack *devStack) []received {
	t.Helper()
	resp, err := client.Get(stack.BaseURL + "/received")
	if err != nil {
		t.Fatalf("GET /received: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /received answered %s", resp.Status)
	}
	var out []received
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("GET /received: %v", err)
	}
	return out
}

// assertNoCard fails when a forwarded body holds the card number digits (plain, or grouped
// with the form encoding's '+' for a space) or any card field.
func assertNoCard(t *testing.T, body, digits string) {
	t.Helper()
	if scrub.ContainsPAN([]byte(body)) {
		t.Errorf("forwarded body holds a card number: %s", scrub.Text([]byte(body)))
	}
	// The messages name the form, never the digits: test output is kept too.
	for _, f := range []struct{ form, s string }{
		{"plain", digits},
		{"grouped, '+' for the space", digits[:4] + "+" + digits[4:8]},
		{"grouped, %20 for the space", digits[:4] + "%20" + digits[4:8]},
	} {
		if strings.Contains(body, f.s) {
			t.Errorf("forwarded body holds the card number (%s)", f.form)
		}
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		t.Fatalf("forwarded body is not a form: %v", err)
	}
	for _, f := range cardFields {
		if form.Has(f) {
			t.Errorf("forwarded body has the card field %s", f)
		}
	}
	// Card fields' names may not appear at all, not even as a prefix of another key, except
	// tokenwall's own card_exp_month / card_exp_year results.
	for _, s := range []string{"card_number", "card_cvc"} {
		if strings.Contains(body, s) {
			t.Errorf("forwarded body mentions %s", s)
		}
	}
}

// checkDevConfigFile: tokenwall-dev wrote the configuration it runs with and said where, so
// `tokenwall audit verify` (the production binary) runs against the running stack with it.
func checkDevConfigFile(t *testing.T, stack *devStack) {
	t.Helper()
	cfgFile := filepath.Join(stack.Data, "tokenwall.yaml")
	if !strings.Contains(stack.Scrubbed(), cfgFile) {
		t.Errorf("tokenwall-dev did not print where its configuration is (%s)", cfgFile)
	}
	out := runTW(t, buildTokenwall(t), "audit", "verify", "--config", cfgFile)
	if !strings.Contains(out, "audit trail OK") {
		t.Fatalf("audit verify --config %s: %s", cfgFile, out)
	}
}
