package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/vault"
)

// need is a capability set the config needs on one Vault path, and why.
type need struct {
	path string
	caps []string
	why  string
}

// vault dials Vault as serve would (reachable, unsealed, logged in) and checks the policy.
// It returns the client, or nil when Vault could not be reached.
func (p *preflight) vault(ctx context.Context) *vault.Client {
	c, err := vault.Dial(ctx, app.VaultOptions(p.cfg, nil))
	if err != nil {
		p.add("vault", statusFail, "%v", err)
		p.add("vault policy", statusSkip, "Vault could not be reached")
		return nil
	}
	p.add("vault", statusOK, "%s: reachable, unsealed, logged in (%s)", p.cfg.Vault.Address, orDefault(p.cfg.Vault.Auth.Method, "token"))
	p.policy(ctx, c)
	return c
}

// policy asks Vault what tokenwall's token may do on each path the config needs
// (sys/capabilities-self) and reports each path that lacks a capability.
func (p *preflight) policy(ctx context.Context, c *vault.Client) {
	needs := p.needs(c)
	paths := make([]string, len(needs))
	for i, n := range needs {
		paths[i] = n.path
	}
	got, err := c.Capabilities(ctx, paths)
	if err != nil {
		p.add("vault policy", statusFail, "%v", err)
		return
	}
	lacking := 0
	for _, n := range needs {
		have := got[n.path]
		if vault.Grants(have, n.caps...) {
			continue
		}
		lacking++
		p.add("vault policy", statusFail, "%s needs %s on %s; the token has %s", n.why, strings.Join(n.caps, ", "), n.path, orNone(have))
	}
	if lacking == 0 {
		p.add("vault policy", statusOK, "the token has what the config needs on %d paths", len(needs))
	}
}

// needs are the paths and capabilities serve needs with this config: read on every KV secret,
// create, update and read on the audit anchor and read on its versions, update on transit
// sign and verify, read on the transit key (the report reads its versions).
func (p *preflight) needs(c *vault.Client) []need {
	v := p.cfg.Vault
	var out []need
	secrets := app.SecretPaths(p.cfg)
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, need{path: c.KVDataPath(secrets[name]), caps: []string{"read"}, why: "secret " + name})
	}
	transit := strings.TrimSuffix(v.TransitMount, "/")
	return append(out,
		need{path: c.KVDataPath(v.AuditAnchorPath), caps: []string{"create", "update", "read"}, why: "the audit anchor (vault.audit_anchor_path)"},
		need{path: c.KVMetadataPath(v.AuditAnchorPath), caps: []string{"read"}, why: "the audit anchor's history"},
		need{path: transit + "/sign/" + v.TransitKey, caps: []string{"update"}, why: "signing audit checkpoints"},
		need{path: transit + "/verify/" + v.TransitKey, caps: []string{"update"}, why: "verifying audit checkpoints"},
		need{path: transit + "/keys/" + v.TransitKey, caps: []string{"read"}, why: "the report's transit key information"},
	)
}

// store checks that the store is writable; a PostgreSQL password comes from Vault (client;
// nil when Vault could not be reached).
func (p *preflight) store(ctx context.Context, client *vault.Client) {
	st := p.cfg.Store
	if st.Driver == "postgres" && st.PostgresPasswordPath != "" && client == nil {
		p.add("store", statusSkip, "the PostgreSQL password is in Vault, which could not be reached")
		return
	}
	found, err := app.CheckStore(ctx, st, func() (string, error) {
		s, err := client.ReadKV(ctx, vault.SecretPostgresPassword, st.PostgresPasswordPath)
		return string(s.Reveal()), err
	})
	if err != nil {
		p.add("store", statusFail, "%v", err)
		return
	}
	p.add("store", statusOK, "%s", found)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orNone(caps []string) string {
	if len(caps) == 0 {
		return "none"
	}
	return fmt.Sprint(caps)
}
