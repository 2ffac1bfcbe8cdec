package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// Errors here never name the subject: it is a customer id, personal data the caller may be
// erasing.

// SubjectKey returns subject's key, creating a random one when there is none. The insert and
// the read that follows run in one write transaction (the write lock is taken at BEGIN), so
// callers racing for a new subject, in this process or another on the same file, all read
// the key of whichever inserted first.
func (s *Store) SubjectKey(ctx context.Context, subject string) ([]byte, error) {
	if subject == "" {
		return nil, fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	var key []byte
	err := s.db.QueryRowContext(ctx, `SELECT key FROM subject_keys WHERE subject = ?`, subject).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: subject key: %w", err)
	}
	fresh := make([]byte, store.SubjectKeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("sqlite: subject key: %w", err)
	}
	err = s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		key = nil
		if _, err := tx.ExecContext(ctx, `INSERT INTO subject_keys (subject, key, created_us) VALUES (?, ?, ?)
			ON CONFLICT (subject) DO NOTHING`, subject, fresh, us(time.Now())); err != nil {
			return fmt.Errorf("sqlite: subject key: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT key FROM subject_keys WHERE subject = ?`, subject).Scan(&key); err != nil {
			return fmt.Errorf("sqlite: subject key: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// ForgetSubject deletes subject's key and reports whether there was one. The database runs
// with secure_delete, so the deleted key is overwritten in its page; a copy can remain in
// the write-ahead log until a checkpoint and later writes reuse that space.
func (s *Store) ForgetSubject(ctx context.Context, subject string) (bool, error) {
	if subject == "" {
		return false, fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	var deleted bool
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM subject_keys WHERE subject = ?`, subject)
		if err != nil {
			return fmt.Errorf("sqlite: forget subject: %w", err)
		}
		deleted = rowsAffected(res) == 1
		return nil
	})
	return deleted, err
}

// HasSubject reports whether subject has a key, without creating one.
func (s *Store) HasSubject(ctx context.Context, subject string) (bool, error) {
	if subject == "" {
		return false, fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	var has bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM subject_keys WHERE subject = ?)`, subject).Scan(&has); err != nil {
		return false, fmt.Errorf("sqlite: has subject: %w", err)
	}
	return has, nil
}

// checkNeedle refuses the empty needle, which every row contains.
func checkNeedle(needle string) error {
	if needle == "" {
		return fmt.Errorf("%w: empty needle would match every row", store.ErrInvalidArgument)
	}
	return nil
}
