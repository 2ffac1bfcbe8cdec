package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// auditKeySize is how many random bytes a new audit HMAC key has (stored hex-encoded, as the
// deploy set-up writes it).
const auditKeySize = 32

// rotateAuditKey writes a new random audit HMAC key as the next KV v2 version at
// vault.audit_key_path, check-and-set on the version it read (of two operators rotating at
// once, one wins and the other is told), and records audit_key_rotated, MACed with the new
// key. Records name the key version that MACed them, so the trail verifies across the
// rotation.
func rotateAuditKey(ctx context.Context, ac *adminConn, st store.Store, stdout, stderr io.Writer) int {
	cfg := ac.cfg
	cur, err := ac.auditKey(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: audit key: %v\n", err)
		return 2
	}
	where := cfg.Vault.KVMount + "/" + cfg.Vault.AuditKeyPath
	if cur.Version() < 1 {
		fmt.Fprintf(stderr, "tokenwall: the audit key at %s has no KV v2 version: rotation needs a KV v2 mount\n", where)
		return 2
	}
	// The trail first: a set-up problem should stop the rotation, not leave it unaudited.
	trail, err := ac.trail(st)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	next, writeErr := writeNextAuditKey(ctx, ac, cur.Version())
	recErr := trail.Record(ctx, rotationEvent("vault:"+where, cur.Version(), next, writeErr))
	if err := trail.Close(ctx); err != nil && recErr == nil {
		recErr = err
	}
	switch {
	case writeErr != nil:
		fmt.Fprintf(stderr, "tokenwall: audit key not rotated: %v\n", writeErr)
		if recErr != nil {
			fmt.Fprintf(stderr, "tokenwall: and the failure's audit record failed too: %v\n", recErr)
		}
		return 2
	case recErr != nil:
		fmt.Fprintf(stderr, "tokenwall: the audit key was rotated to version %d but its audit record failed: %v\n", next, recErr)
		return 2
	}
	fmt.Fprintf(stdout, "audit key rotated: %s version %d -> %d (recorded as %s)\n", where, cur.Version(), next, audit.EventAuditKeyRotated)
	fmt.Fprintf(stdout, "a running tokenwall MACs with version %d from its next Vault cache refresh (vault.refresh_interval: %s) "+
		"or restart; each record names the key version that MACed it, so records from before and after verify alike\n",
		next, cfg.Vault.RefreshInterval.D())
	fmt.Fprintf(stdout, "keep versions up to %d in Vault (KV v2 max_versions, never destroyed) while the trail holds records they MACed\n", next)
	return 0
}

// writeNextAuditKey writes a new random key at the audit key path, check-and-set on version
// cur, and returns the version it became.
func writeNextAuditKey(ctx context.Context, ac *adminConn, cur int) (int, error) {
	raw := make([]byte, auditKeySize)
	if _, err := rand.Read(raw); err != nil {
		return 0, fmt.Errorf("random key: %w", err)
	}
	key := hex.EncodeToString(raw)
	path := ac.cfg.Vault.AuditKeyPath
	if err := ac.client.WriteKVCAS(ctx, path, key, cur); err != nil {
		return 0, err
	}
	// The check-and-set on cur held, so this write made cur+1 (KV v2 counts versions one by
	// one); reading it back proves it before the trail names it.
	next := cur + 1
	s, err := ac.client.ReadKVVersion(ctx, vault.SecretAuditKey, path, next)
	if err != nil {
		return 0, fmt.Errorf("read back version %d: %w", next, err)
	}
	if subtle.ConstantTimeCompare(s.Reveal(), []byte(key)) != 1 {
		return 0, fmt.Errorf("version %d of %s is not the key just written", next, path)
	}
	return next, nil
}

// rotationEvent is the audit record of a rotation from version cur to next, or of its
// failure (writeErr).
func rotationEvent(resource string, cur, next int, writeErr error) audit.Event {
	ev := audit.Event{Type: audit.EventAuditKeyRotated, Actor: operator("cli"), Outcome: audit.Success, Resource: resource,
		Details: map[string]string{"previous_version": strconv.Itoa(cur), "version": strconv.Itoa(next)}}
	if writeErr != nil {
		ev.Outcome, ev.Reason = audit.Failure, "vault_unavailable"
		if errors.Is(writeErr, vault.ErrConflict) {
			ev.Reason = "version_conflict"
		}
		delete(ev.Details, "version")
	}
	return ev
}
