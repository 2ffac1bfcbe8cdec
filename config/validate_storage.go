package config

import (
	"net/url"
	"strings"
	"time"
)

// validate checks the driver's settings; a PostgreSQL password belongs in Vault, not in
// the URL.
func (s Store) validate(p *problems) {
	p.oneOf("store.driver", s.Driver, "sqlite", "postgres")
	switch s.Driver {
	case "sqlite":
		p.required("store.sqlite_path", s.SQLitePath)
	case "postgres":
		if u, ok := p.httpURLish("store.postgres_url", s.PostgresURL, "postgres", "postgresql"); ok && u.User != nil {
			if _, has := u.User.Password(); has {
				p.addf("store.postgres_url", "holds a password: put it in Vault and name its path in store.postgres_password_path")
			}
		}
		if s.PostgresPasswordPath != "" {
			p.kvPath("store.postgres_password_path", s.PostgresPasswordPath)
		}
		if s.MaxConns < 1 || s.MaxConns > 1000 {
			p.addf("store.max_conns", "%d is not between 1 and 1000", s.MaxConns)
		}
	}
}

// httpURLish parses raw as an absolute URL with one of schemes and a host.
func (p *problems) httpURLish(key, raw string, schemes ...string) (*url.URL, bool) {
	if !p.required(key, raw) {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		p.addf(key, "not an absolute URL") // the text may hold a password: not echoed
		return nil, false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return u, true
		}
	}
	p.addf(key, "scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
	return nil, false
}

// validate checks the audit trail's checkpoint interval, retention and key cryptoperiod.
func (a Audit) validate(p *problems) {
	if a.CheckpointEvery < 1 || a.CheckpointEvery > 1_000_000 {
		p.addf("audit.checkpoint_every", "%d is not between 1 and 1000000", a.CheckpointEvery)
	}
	if d := a.CheckpointInterval.D(); d < time.Second || d > time.Hour {
		p.addf("audit.checkpoint_interval", "%s is not between 1s and 1h", d)
	}
	if a.RetentionDays < 365 {
		p.addf("audit.retention_days", "%d is less than 365: PCI DSS 10.5.1 asks for at least 12 months", a.RetentionDays)
	}
	if a.CryptoperiodDays < 1 || a.CryptoperiodDays > 3650 {
		p.addf("audit.cryptoperiod_days", "%d is not between 1 and 3650", a.CryptoperiodDays)
	}
}
