package config

import (
	"fmt"

	"github.com/tokenwall/tokenwall/scrub"
)

// Scrubber returns the scrub.Scrubber these settings describe. Validate has checked them.
func (s Scrub) Scrubber() (*scrub.Scrubber, error) {
	mask, err := scrub.ParseCardMask(s.CardMask)
	if err != nil {
		return nil, fmt.Errorf("scrub.card_mask: %w", err)
	}
	extra := make([]scrub.KeyRule, 0, len(s.ExtraKeys))
	for _, k := range s.ExtraKeys {
		kind, ok := scrub.ParseKind(k.Kind)
		if !ok {
			return nil, fmt.Errorf("scrub.extra_keys: kind %q unknown", k.Kind)
		}
		extra = append(extra, scrub.KeyRule{Name: k.Name, Kind: kind, Suffix: k.Suffix})
	}
	return scrub.New(scrub.Options{CardMask: mask, ExtraKeys: extra}), nil
}
