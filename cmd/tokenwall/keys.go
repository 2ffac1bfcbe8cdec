package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/vault"
)

// keysCmd manages the /v1 API keys. The set lives in Vault (api.keys_path) as ids, scopes and
// SHA-256 hashes; a new key's secret is printed once and kept nowhere. Every change is a
// check-and-set write (two operators cannot overwrite each other) and an audit record.
type keysCmd struct {
	Create keysCreateCmd `cmd:"" help:"Create a key and print it, once."`
	List   keysListCmd   `cmd:"" help:"List the keys: ids, names, scopes and dates, never a hash."`
	Revoke keysRevokeCmd `cmd:"" help:"Revoke a key."`
}

// keysCreateCmd is keys create.
type keysCreateCmd struct {
	configFlag
	Scopes            string `required:"" placeholder:"S[,S...]" help:"Comma-separated scopes: payments, refunds, customers, erase, reports, admin."`
	Name              string `help:"What the key is for."`
	ClientCertSubject string `placeholder:"SUBJECT" help:"A client certificate subject (\"CN=billing-app,O=Merchant\") that authenticates as this key over mutual TLS (api.client_ca_file)."`

	scopes []string // Scopes, split
}

// Validate checks the scopes before anything is connected to.
func (c *keysCreateCmd) Validate() error {
	c.scopes = nil
	for _, s := range strings.Split(c.Scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.scopes = append(c.scopes, s)
		}
	}
	if err := apikey.ValidScopes(c.scopes); err != nil {
		return fmt.Errorf("--scopes: %w", err)
	}
	return nil
}

func (c *keysCreateCmd) run(e cmdEnv) int {
	var full string
	return changeKeys(e, c.configFlag, func(ks *apikey.KeySet) (audit.Event, error) {
		k, secret, err := apikey.New(c.Name, c.scopes, time.Now())
		if err != nil {
			return audit.Event{}, err
		}
		k.ClientCertSubject = c.ClientCertSubject
		ks.Keys = append(ks.Keys, k)
		full = secret
		return audit.Event{Type: audit.EventAPIKeyCreated, Resource: apikey.ActorPrefix + k.ID,
			Details: map[string]string{"scopes": strings.Join(k.Scopes, ",")}}, nil
	}, func() {
		fmt.Fprintln(e.stdout, full)
		fmt.Fprintln(e.stderr, "tokenwall: this is the only time the key is shown; a running tokenwall accepts it within api.keys_refresh")
	})
}

// keysRevokeCmd is keys revoke.
type keysRevokeCmd struct {
	configFlag
	KeyID string `arg:"" name:"key-id" help:"The key's id, as keys list shows it."`
}

func (c *keysRevokeCmd) run(e cmdEnv) int {
	return changeKeys(e, c.configFlag, func(ks *apikey.KeySet) (audit.Event, error) {
		return audit.Event{Type: audit.EventAPIKeyRevoked, Resource: apikey.ActorPrefix + c.KeyID}, ks.Revoke(c.KeyID, time.Now())
	}, func() {
		fmt.Fprintf(e.stdout, "revoked %s; a running tokenwall refuses it within api.keys_refresh\n", c.KeyID)
	})
}

// keysListCmd is keys list.
type keysListCmd struct {
	configFlag
	JSON bool `name:"json" help:"One JSON object a line: id, name, scopes, client_cert_subject, created_at, revoked_at."`
}

func (c *keysListCmd) run(e cmdEnv) int {
	cfg, code := c.load(e.stderr, 2)
	if code != 0 {
		return code
	}
	ac, err := dialAdmin(e.ctx, cfg)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	ks, _, err := readKeySet(e.ctx, ac)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	if c.JSON {
		err = writeKeysJSON(e.stdout, ks)
	} else {
		err = writeKeys(e.stdout, ks)
	}
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	return 0
}

// changeKeys applies edit to the key set in Vault, records the event it returns in the
// audit trail, then calls done to report.
func changeKeys(e cmdEnv, cf configFlag, edit func(*apikey.KeySet) (audit.Event, error), done func()) int {
	cfg, code := cf.load(e.stderr, 2)
	if code != 0 {
		return code
	}
	ac, err := dialAdmin(e.ctx, cfg)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	var ev audit.Event
	err = editKeySet(e.ctx, ac, func(ks *apikey.KeySet) error {
		var err error
		ev, err = edit(ks)
		return err
	})
	if err != nil {
		return fail(e.stderr, 1, err)
	}
	if err := auditKeyChange(e.ctx, ac, ev); err != nil {
		fmt.Fprintf(e.stderr, "tokenwall: the key set changed but the audit record failed: %v\n", err)
		return 2
	}
	done()
	return 0
}

// readKeySet reads the key set and its version (0 and an empty set when none exists yet).
func readKeySet(ctx context.Context, ac *adminConn) (apikey.KeySet, int, error) {
	s, err := ac.client.ReadKV(ctx, vault.SecretAPIKeys, ac.cfg.API.KeysPath)
	if errors.Is(err, vault.ErrMissing) {
		return apikey.KeySet{}, 0, nil
	}
	if err != nil {
		return apikey.KeySet{}, 0, err
	}
	ks, err := apikey.ParseKeySet(s.Reveal())
	return ks, s.Version(), err
}

// editKeySet applies edit to the key set and writes it back with check-and-set, retrying when
// another writer got there first.
func editKeySet(ctx context.Context, ac *adminConn, edit func(*apikey.KeySet) error) error {
	for range 3 {
		ks, version, err := readKeySet(ctx, ac)
		if err != nil {
			return err
		}
		if err := edit(&ks); err != nil {
			return err
		}
		b, err := ks.Marshal()
		if err != nil {
			return err
		}
		if _, err := apikey.ParseKeySet(b); err != nil {
			return err
		}
		err = ac.client.WriteKVCAS(ctx, ac.cfg.API.KeysPath, string(b), version)
		if !errors.Is(err, vault.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("the key set kept changing under us; try again")
}

// auditKeyChange records a key creation or revocation in the audit trail.
func auditKeyChange(ctx context.Context, ac *adminConn, ev audit.Event) error {
	st, err := ac.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	trail, err := ac.trail(st)
	if err != nil {
		return err
	}
	ev.Actor, ev.Outcome = operator("cli"), audit.Success
	return errors.Join(trail.Record(ctx, ev), trail.Close(ctx))
}

// writeKeys prints the key set: ids, names, scopes and dates, never a hash.
func writeKeys(w io.Writer, ks apikey.KeySet) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tNAME\tSCOPES\tCREATED\tREVOKED")
	for _, k := range ks.Keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, orDash(k.Name), strings.Join(k.Scopes, ","), k.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

// keyJSON is one key as keys list --json prints it: never its hash.
type keyJSON struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	Scopes            []string   `json:"scopes"`
	ClientCertSubject string     `json:"client_cert_subject,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	RevokedAt         *time.Time `json:"revoked_at"`
}

// writeKeysJSON prints the key set as JSON lines.
func writeKeysJSON(w io.Writer, ks apikey.KeySet) error {
	enc := json.NewEncoder(w)
	for _, k := range ks.Keys {
		if err := enc.Encode(keyJSON{ID: k.ID, Name: k.Name, Scopes: k.Scopes, ClientCertSubject: k.ClientCertSubject,
			CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
