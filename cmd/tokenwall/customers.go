package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/vault"
)

const customersUsage = `usage:
  tokenwall customers erase --config FILE CUSTOMER_ID
`

// runCustomers erases a customer on a data subject's request, the same way as
// DELETE /v1/customers/{id} (payments.Service.Erase): cards detached and the customer
// deleted at the gateway, their undelivered webhook payloads and stored API responses
// deleted, their audit pseudonym key destroyed. It prints the receipt as JSON.
func runCustomers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "erase" {
		fmt.Fprint(stderr, customersUsage)
		return 2
	}
	fs, path := configFlags("customers erase", stderr)
	cfg, code := parseAndLoad(fs, path, args[1:], stderr, 2)
	if code != 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, customersUsage)
		return 2
	}
	rc, err := eraseCustomer(ctx, cfg, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		if errors.Is(err, payments.ErrInvalidID) || errors.Is(err, payments.ErrUnknownCustomer) {
			return 1
		}
		return 2
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rc); err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	return 0
}

// eraseCustomer runs the erasure through a trail of its own, closed (with a signed
// checkpoint) before it returns.
func eraseCustomer(ctx context.Context, cfg config.Config, customer string) (payments.ErasureReceipt, error) {
	ac, st, err := openAdmin(ctx, cfg)
	if err != nil {
		return payments.ErasureReceipt{}, err
	}
	defer st.Close()
	trail, err := ac.trail(st)
	if err != nil {
		return payments.ErasureReceipt{}, err
	}
	gw, err := app.Stripe(cfg, func() (string, error) {
		s, err := ac.client.ReadKV(ctx, vault.SecretStripeKey, cfg.Vault.StripeKeyPath)
		return string(s.Reveal()), err
	}, nil, zerolog.Nop())
	if err != nil {
		return payments.ErasureReceipt{}, err
	}
	svc, err := app.Payments(cfg, gw, st, trail)
	if err != nil {
		return payments.ErasureReceipt{}, err
	}
	rc, eraseErr := svc.Erase(ctx, payments.Caller{Actor: operator("cli")}, customer, "")
	if err := trail.Close(ctx); err != nil {
		return rc, errors.Join(eraseErr, fmt.Errorf("audit: %w", err))
	}
	return rc, eraseErr
}
