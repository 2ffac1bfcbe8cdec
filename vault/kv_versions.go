package vault

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/vault/api"
)

// ReadKVVersion reads field "value" of one version of the secret at path in the KV v2 mount
// (ReadKV reads the latest). The audit trail verifies each record with the version of its
// key that MACed it. A version Vault does not have, or no longer has (deleted, destroyed,
// or trimmed by max_versions), is ErrMissing.
func (c *Client) ReadKVVersion(ctx context.Context, name, path string, version int) (Secret, error) {
	if version < 1 {
		// Vault reads version 0 as "the latest", which is not what a caller naming one wants.
		return Secret{}, fmt.Errorf("vault: %w: %s/%s version %d: versions start at 1", ErrMissing, c.opts.KVMount, path, version)
	}
	var s *api.KVSecret
	err := c.retryAuth(ctx, func() (err error) {
		s, err = c.api.KVv2(c.opts.KVMount).GetVersion(ctx, path, version)
		if err != nil && !errors.Is(err, api.ErrSecretNotFound) {
			err = classify(fmt.Errorf("read %s/%s version %d: %w", c.opts.KVMount, path, version, err))
		}
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return Secret{}, fmt.Errorf("vault: %w: %s/%s version %d", ErrMissing, c.opts.KVMount, path, version)
	}
	if err != nil {
		return Secret{}, err
	}
	v, ok := s.Data["value"].(string)
	if !ok || v == "" {
		return Secret{}, fmt.Errorf("vault: %w: %s/%s version %d has no string field \"value\" (deleted or destroyed?)",
			ErrMissing, c.opts.KVMount, path, version)
	}
	if hasNewline(v) {
		return Secret{}, newlineError(c.opts.KVMount, path, version)
	}
	sec := Secret{name: name, value: []byte(v), version: version}
	if m := s.VersionMetadata; m != nil {
		sec.created = m.CreatedTime
	}
	return sec, nil
}

// KVVersions lists the versions of the secret at path in the KV v2 mount that can still be
// read (neither deleted nor destroyed), oldest first.
func (c *Client) KVVersions(ctx context.Context, path string) ([]int, error) {
	vs, err := c.versions(ctx, path)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, v := range vs {
		if !v.Destroyed && v.DeletionTime.IsZero() {
			out = append(out, v.Version)
		}
	}
	sort.Ints(out)
	return out, nil
}

// versions lists the version metadata of the entry at path; a path never written is
// ErrMissing.
func (c *Client) versions(ctx context.Context, path string) ([]api.KVVersionMetadata, error) {
	var vs []api.KVVersionMetadata
	err := c.retryAuth(ctx, func() (err error) {
		vs, err = c.api.KVv2(c.opts.KVMount).GetVersionsAsList(ctx, path)
		if err != nil && !errors.Is(err, api.ErrSecretNotFound) {
			err = classify(fmt.Errorf("list versions of %s/%s: %w", c.opts.KVMount, path, err))
		}
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return nil, fmt.Errorf("vault: %w: %s/%s", ErrMissing, c.opts.KVMount, path)
	}
	return vs, err
}
