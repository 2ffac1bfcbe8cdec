package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"
)

// Transit signs and verifies with a key held in Vault's transit engine: the key never leaves
// Vault. tokenwall signs its audit checkpoints and reports this way.
type Transit struct {
	c     *Client
	mount string
	key   string
}

// Transit returns a signer for key in the transit engine mounted at mount ("transit").
func (c *Client) Transit(mount, key string) *Transit {
	if mount == "" {
		mount = "transit"
	}
	return &Transit{c: c, mount: mount, key: key}
}

// KeyName is the transit key's name.
func (t *Transit) KeyName() string { return t.key }

// Sign returns Vault's signature of data ("vault:v1:…").
func (t *Transit) Sign(ctx context.Context, data []byte) (string, error) {
	s, err := t.write(ctx, "sign", map[string]any{"input": base64.StdEncoding.EncodeToString(data)})
	if err != nil {
		return "", err
	}
	sig, ok := s.Data["signature"].(string)
	if !ok || sig == "" {
		return "", fmt.Errorf("vault: transit sign with %s: no signature in the answer", t.key)
	}
	return sig, nil
}

// Verify reports whether sig is Vault's signature of data with this key.
func (t *Transit) Verify(ctx context.Context, data []byte, sig string) (bool, error) {
	s, err := t.write(ctx, "verify", map[string]any{"input": base64.StdEncoding.EncodeToString(data), "signature": sig})
	if err != nil {
		return false, err
	}
	valid, _ := s.Data["valid"].(bool)
	return valid, nil
}

// write calls the transit operation op (sign, verify) with this key.
func (t *Transit) write(ctx context.Context, op string, data map[string]any) (*api.Secret, error) {
	var s *api.Secret
	err := t.c.retryAuth(ctx, func() (err error) {
		s, err = t.c.api.Logical().WriteWithContext(ctx, t.mount+"/"+op+"/"+t.key, data)
		if err != nil {
			return classify(fmt.Errorf("transit %s with %s: %w", op, t.key, err))
		}
		if s == nil {
			return fmt.Errorf("vault: transit %s with %s: empty answer", op, t.key)
		}
		return nil
	})
	return s, err
}

// EnableTransitKey mounts the transit engine (if needed) and creates an ed25519 key. It is
// for `tokenwall-dev` and tests; production Vaults are set up by deploy/vault/setup.sh.
func (c *Client) EnableTransitKey(ctx context.Context, mount, key string) error {
	if mount == "" {
		mount = "transit"
	}
	mounts, err := c.api.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return classify(fmt.Errorf("list mounts: %w", err))
	}
	if _, ok := mounts[mount+"/"]; !ok {
		if err := c.api.Sys().MountWithContext(ctx, mount, &api.MountInput{Type: "transit"}); err != nil {
			return classify(fmt.Errorf("mount transit: %w", err))
		}
	}
	if _, err := c.api.Logical().WriteWithContext(ctx, mount+"/keys/"+key, map[string]any{"type": "ed25519"}); err != nil {
		return classify(fmt.Errorf("create transit key %s: %w", key, err))
	}
	return nil
}

// KeyInfo reads the transit key's latest version and when that version was created (its
// last rotation).
func (t *Transit) KeyInfo(ctx context.Context) (latest int, rotatedAt time.Time, err error) {
	var s *api.Secret
	err = t.c.retryAuth(ctx, func() (err error) {
		if s, err = t.c.api.Logical().ReadWithContext(ctx, t.mount+"/keys/"+t.key); err != nil {
			return classify(fmt.Errorf("transit key %s: %w", t.key, err))
		}
		return nil
	})
	if err != nil {
		return 0, time.Time{}, err
	}
	if s == nil || s.Data == nil {
		return 0, time.Time{}, fmt.Errorf("vault: %w: transit key %s", ErrMissing, t.key)
	}
	v, err := jsonInt(s.Data["latest_version"])
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("vault: transit key %s: latest_version: %w", t.key, err)
	}
	keys, _ := s.Data["keys"].(map[string]any)
	switch k := keys[strconv.Itoa(v)].(type) {
	case map[string]any: // asymmetric keys: {"creation_time": "…", "public_key": …}
		if ct, ok := k["creation_time"].(string); ok {
			rotatedAt, err = time.Parse(time.RFC3339Nano, ct)
		}
	default: // symmetric keys: the creation time in Unix seconds
		if n, e := jsonInt(k); e == nil {
			rotatedAt = time.Unix(int64(n), 0)
		}
	}
	if err != nil || rotatedAt.IsZero() {
		return v, time.Time{}, fmt.Errorf("vault: transit key %s: no creation time for version %d", t.key, v)
	}
	return v, rotatedAt.UTC(), nil
}

// jsonInt reads a number Vault's API decoded as json.Number, float64 or int.
func jsonInt(v any) (int, error) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err
	case float64:
		return int(n), nil
	case int:
		return n, nil
	}
	return 0, fmt.Errorf("not a number: %T", v)
}
