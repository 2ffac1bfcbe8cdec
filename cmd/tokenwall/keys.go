package main

import (
	"context"
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

const keysUsage = `usage:
  tokenwall keys create --scopes S[,S…] [--name NAME] [--client-cert-subject SUBJECT] --config FILE
  tokenwall keys list --config FILE
  tokenwall keys revoke --config FILE KEY_ID
scopes: payments, refunds, customers, erase, reports, admin
`

// runKeys manages the /v1 API keys. The set lives in Vault (api.keys_path) as ids, scopes and
// SHA-256 hashes; a new key's secret is printed once and kept nowhere. Every change is a
// check-and-set write (two operators cannot overwrite each other) and an audit record.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	sub := args[0]
	fs, path := configFlags("keys "+sub, stderr)
	scopes := fs.String("scopes", "", "create: comma-separated scopes")
	name := fs.String("name", "", "create: what the key is for")
	subject := fs.String("client-cert-subject", "", `create: a client certificate subject ("CN=billing-app,O=Merchant") that authenticates as this key over mutual TLS (api.client_ca_file)`)
	cfg, code := parseAndLoad(fs, path, args[1:], stderr, 2)
	if code != 0 {
		return code
	}
	if (sub == "revoke") != (fs.NArg() == 1) || fs.NArg() > 1 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	var scopeList []string
	if sub == "create" {
		for _, s := range strings.Split(*scopes, ",") {
			if s = strings.TrimSpace(s); s != "" {
				scopeList = append(scopeList, s)
			}
		}
		if err := apikey.ValidScopes(scopeList); err != nil {
			fmt.Fprintf(stderr, "tokenwall: --scopes: %v\n", err)
			return 2
		}
	}
	ac, err := dialAdmin(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	if sub == "list" {
		ks, _, err := readKeySet(ctx, ac)
		if err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
		writeKeys(stdout, ks)
		return 0
	}
	var full string
	var ev audit.Event
	err = editKeySet(ctx, ac, func(ks *apikey.KeySet) error {
		if sub == "create" {
			k, secret, err := apikey.New(*name, scopeList, time.Now())
			if err != nil {
				return err
			}
			k.ClientCertSubject = *subject
			ks.Keys = append(ks.Keys, k)
			full = secret
			ev = audit.Event{Type: audit.EventAPIKeyCreated, Resource: apikey.ActorPrefix + k.ID,
				Details: map[string]string{"scopes": strings.Join(k.Scopes, ",")}}
			return nil
		}
		ev = audit.Event{Type: audit.EventAPIKeyRevoked, Resource: apikey.ActorPrefix + fs.Arg(0)}
		return ks.Revoke(fs.Arg(0), time.Now())
	})
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	if err := auditKeyChange(ctx, ac, ev); err != nil {
		fmt.Fprintf(stderr, "tokenwall: the key set changed but the audit record failed: %v\n", err)
		return 2
	}
	if sub == "create" {
		fmt.Fprintln(stdout, full)
		fmt.Fprintln(stderr, "tokenwall: this is the only time the key is shown; a running tokenwall accepts it within api.keys_refresh")
		return 0
	}
	fmt.Fprintf(stdout, "revoked %s; a running tokenwall refuses it within api.keys_refresh\n", fs.Arg(0))
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
func writeKeys(w io.Writer, ks apikey.KeySet) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tNAME\tSCOPES\tCREATED\tREVOKED")
	for _, k := range ks.Keys {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, orDash(k.Name), strings.Join(k.Scopes, ","), k.CreatedAt.Format(time.RFC3339), revoked)
	}
	_ = tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
