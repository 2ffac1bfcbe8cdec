package evidence

import (
	"net/url"
	"strings"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/scrub"
)

// flowOf draws the card data flow from the configuration.
func flowOf(cfg config.Config) report.Flow {
	f := report.Flow{Listen: cfg.Listen.Addr, Upstream: redactURL(cfg.Upstream.URL), Gateway: redactURL(cfg.Gateway.Stripe.APIURL), API: cfg.API.Enabled}
	for _, r := range cfg.Routes {
		fr := report.FlowRoute{Path: r.Path, Methods: r.Methods, Body: r.Body}
		for _, n := range []string{r.Card.Number, r.Card.Exp, r.Card.ExpMonth, r.Card.ExpYear, r.Card.CVC, r.Card.Name} {
			if n != "" {
				fr.CardFields = append(fr.CardFields, n)
			}
		}
		fr.ResultFields = []string{r.Result.Token, r.Result.Brand, r.Result.Last4, r.Result.ExpMonth, r.Result.ExpYear, r.Result.Fingerprint, r.Result.Error}
		f.Routes = append(f.Routes, fr)
	}
	if cfg.Webhooks.Enabled {
		f.Webhooks = cfg.Webhooks.Path
		f.DeliverURL = redactURL(strings.TrimSuffix(cfg.Upstream.URL, "/") + cfg.Webhooks.DeliverPath)
	}
	return f
}

// redactURL drops credentials from a URL for the report.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		s = u.String()
	}
	return scrub.Default().URL(s)
}
