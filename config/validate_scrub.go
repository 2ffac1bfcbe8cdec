package config

import (
	"fmt"
	"strings"

	"github.com/tokenwall/tokenwall/scrub"
)

// validate checks the card mask and the extra keys scrub redacts.
func (s Scrub) validate(p *problems) {
	if _, err := scrub.ParseCardMask(s.CardMask); err != nil {
		p.addf("scrub.card_mask", "%q is not one of brand_last4, first6_last4", s.CardMask)
	}
	for i, k := range s.ExtraKeys {
		key := fmt.Sprintf("scrub.extra_keys[%d]", i)
		p.required(key+".name", k.Name)
		if _, ok := scrub.ParseKind(k.Kind); !ok {
			p.addf(key+".kind", "%q is not a kind scrub knows", k.Kind)
		}
	}
}

// validate checks that alert paths start with "/", as the request paths they match do.
func (c CardEscape) validate(p *problems) {
	for i, prefix := range c.AlertPaths {
		if !strings.HasPrefix(prefix, "/") {
			p.addf(fmt.Sprintf("card_escape.alert_paths[%d]", i), "%q must start with /", prefix)
		}
	}
}
