package vault

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// KVDoc is one version of a KV v2 entry whose fields are not secret (the audit trail's
// anchor: a sequence number, a hash and a transit signature). Fields holds the string fields;
// a deleted or destroyed version has none.
type KVDoc struct {
	Version   int
	Created   time.Time
	Deleted   bool
	Destroyed bool
	Fields    map[string]string
}

// KVHistory lists every version of the entry at path that Vault still knows, oldest first,
// deleted and destroyed ones included (flagged, without fields): a version that was deleted
// is itself evidence. A path that was never written is ErrMissing.
func (c *Client) KVHistory(ctx context.Context, path string) ([]KVDoc, error) {
	vs, err := c.versions(ctx, path)
	if err != nil {
		return nil, err
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Version < vs[j].Version })
	out := make([]KVDoc, 0, len(vs))
	for _, v := range vs {
		d := KVDoc{Version: v.Version, Created: v.CreatedTime, Deleted: !v.DeletionTime.IsZero(), Destroyed: v.Destroyed}
		if !d.Deleted && !d.Destroyed {
			if d, err = c.ReadKVDoc(ctx, path, v.Version); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// ReadKVDoc reads one version of the entry at path (0: the latest). A path or version Vault
// does not have is ErrMissing.
func (c *Client) ReadKVDoc(ctx context.Context, path string, version int) (KVDoc, error) {
	kv := c.api.KVv2(c.opts.KVMount)
	var s *api.KVSecret
	err := c.retryAuth(ctx, func() (err error) {
		if version > 0 {
			s, err = kv.GetVersion(ctx, path, version)
		} else {
			s, err = kv.Get(ctx, path)
		}
		if err != nil && !errors.Is(err, api.ErrSecretNotFound) {
			err = classify(fmt.Errorf("read %s/%s version %d: %w", c.opts.KVMount, path, version, err))
		}
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return KVDoc{}, fmt.Errorf("vault: %w: %s/%s version %d", ErrMissing, c.opts.KVMount, path, version)
	}
	if err != nil {
		return KVDoc{}, err
	}
	d := KVDoc{Version: version, Fields: map[string]string{}}
	if m := s.VersionMetadata; m != nil {
		d.Version, d.Created, d.Deleted, d.Destroyed = m.Version, m.CreatedTime, !m.DeletionTime.IsZero(), m.Destroyed
	}
	for k, v := range s.Data {
		if str, ok := v.(string); ok {
			d.Fields[k] = str
		}
	}
	return d, nil
}

// WriteKVDoc writes fields at path only if the latest version is still cas (0: the path must
// not exist yet) and returns the version written. A lost race is ErrConflict: read again and
// decide.
func (c *Client) WriteKVDoc(ctx context.Context, path string, fields map[string]string, cas int) (int, error) {
	data := make(map[string]any, len(fields))
	for k, v := range fields {
		data[k] = v
	}
	var s *api.KVSecret
	err := c.retryAuth(ctx, func() (err error) {
		s, err = c.api.KVv2(c.opts.KVMount).Put(ctx, path, data, api.WithCheckAndSet(cas))
		switch {
		case err != nil && strings.Contains(err.Error(), "check-and-set"):
			return fmt.Errorf("%w: %s/%s", ErrConflict, c.opts.KVMount, path)
		case err != nil:
			return classify(fmt.Errorf("write %s/%s: %w", c.opts.KVMount, path, err))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if s == nil || s.VersionMetadata == nil {
		return 0, fmt.Errorf("vault: write %s/%s: no version in the answer", c.opts.KVMount, path)
	}
	return s.VersionMetadata.Version, nil
}

// SetKVMaxVersions sets how many versions Vault keeps of the entry at path (an operator's
// set-up step; tokenwall's runtime policy cannot change metadata).
func (c *Client) SetKVMaxVersions(ctx context.Context, path string, n int) error {
	return c.retryAuth(ctx, func() error {
		if err := c.api.KVv2(c.opts.KVMount).PutMetadata(ctx, path, api.KVMetadataPutInput{MaxVersions: n}); err != nil {
			return classify(fmt.Errorf("set max_versions of %s/%s: %w", c.opts.KVMount, path, err))
		}
		return nil
	})
}
