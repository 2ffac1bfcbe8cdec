package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/vault"
)

// customersCmd is the customers command: erase is its one subcommand.
type customersCmd struct {
	Erase customersEraseCmd `cmd:"" help:"Erase a customer as DELETE /v1/customers/{id} does (audited); print the receipt as JSON."`
}

// customersEraseCmd erases a customer on a data subject's request, the same way as
// DELETE /v1/customers/{id} (payments.Service.Erase): cards detached and the customer
// deleted at the gateway, their undelivered webhook payloads and stored API responses
// deleted, their audit pseudonym key destroyed. It prints the receipt as JSON.
type customersEraseCmd struct {
	configFlag
	CustomerID string `arg:"" name:"customer-id" help:"The gateway's customer id (cus_...)."`
}

func (c *customersEraseCmd) run(e cmdEnv) int {
	cfg, code := c.load(e.stderr, 2)
	if code != 0 {
		return code
	}
	rc, err := eraseCustomer(e.ctx, cfg, c.CustomerID)
	if err != nil {
		if errors.Is(err, payments.ErrInvalidID) || errors.Is(err, payments.ErrUnknownCustomer) {
			return fail(e.stderr, 1, err)
		}
		return fail(e.stderr, 2, err)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rc); err != nil {
		return fail(e.stderr, 2, err)
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
