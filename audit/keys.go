package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tokenwall/tokenwall/vault"
)

// ErrUnknownKeyVersion means a record names an audit key version that cannot be had: Vault
// does not keep it (never written, deleted, destroyed, trimmed by max_versions). Verify
// reports the record as bad rather than failing as a whole.
var ErrUnknownKeyVersion = errors.New("audit: no audit key of that version")

// Keys returns the audit HMAC key of a KV v2 version, for Verify, which checks each record
// with the version that MACed it. Version 0 asks for the key of records written before
// records named their version (the legacy key); the implementation decides which that is.
// A version that does not exist is ErrUnknownKeyVersion; any other error stops Verify.
type Keys func(ctx context.Context, version int) ([]byte, error)

// StaticKey is Keys with one key for every version, legacy included: for a trail whose key
// was never rotated, and for tests.
func StaticKey(key []byte) Keys {
	return func(context.Context, int) ([]byte, error) { return key, nil }
}

// VersionReader reads versions of a KV v2 secret; *vault.Client is the real one.
type VersionReader interface {
	ReadKVVersion(ctx context.Context, name, path string, version int) (vault.Secret, error)
	KVVersions(ctx context.Context, path string) ([]int, error)
}

// VaultKeys is Keys reading each version of the audit key at path from Vault's KV v2 (which
// keeps old versions, up to the mount's max_versions). The legacy rule: records that name no
// version (written before tokenwall recorded it) are checked with version legacy, or, when
// legacy is 0, with the lowest version Vault still has, which is the key those records were
// MACed with unless it had been rotated before the upgrade.
func VaultKeys(r VersionReader, path string, legacy int) Keys {
	var (
		mu       sync.Mutex
		resolved int
	)
	legacyVersion := func(ctx context.Context) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if legacy > 0 {
			return legacy, nil
		}
		if resolved > 0 {
			return resolved, nil
		}
		vs, err := r.KVVersions(ctx, path)
		if err != nil {
			return 0, keyError(fmt.Errorf("audit key versions: %w", err))
		}
		if len(vs) == 0 {
			return 0, fmt.Errorf("%w: Vault keeps no version of %s", ErrUnknownKeyVersion, path)
		}
		resolved = vs[0]
		return resolved, nil
	}
	return func(ctx context.Context, version int) ([]byte, error) {
		if version == 0 {
			v, err := legacyVersion(ctx)
			if err != nil {
				return nil, err
			}
			version = v
		}
		s, err := r.ReadKVVersion(ctx, vault.SecretAuditKey, path, version)
		if err != nil {
			return nil, keyError(fmt.Errorf("audit key version %d: %w", version, err))
		}
		return s.Reveal(), nil
	}
}

// keyError marks a secret Vault does not have as ErrUnknownKeyVersion.
func keyError(err error) error {
	if errors.Is(err, vault.ErrMissing) {
		return fmt.Errorf("%w: %w", ErrUnknownKeyVersion, err)
	}
	return err
}
