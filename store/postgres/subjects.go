package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwall/tokenwall/store"
)

// Errors here never name the subject: it is a customer id, personal data the caller may be
// erasing.

// SubjectKey returns subject's key, creating a random one when there is none. The insert is
// an upsert that keeps the stored key and returns it: when replicas race for a new subject,
// the losers wait for the winner's row and get its key.
func (s *Store) SubjectKey(ctx context.Context, subject string) ([]byte, error) {
	if subject == "" {
		return nil, fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	var key []byte
	err := s.pool.QueryRow(ctx, `SELECT key FROM subject_keys WHERE subject = $1`, subject).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: subject key: %w", err)
	}
	fresh := make([]byte, store.SubjectKeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("postgres: subject key: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `INSERT INTO subject_keys (subject, key) VALUES ($1, $2)
		ON CONFLICT (subject) DO UPDATE SET key = subject_keys.key
		RETURNING key`, subject, fresh).Scan(&key); err != nil {
		return nil, fmt.Errorf("postgres: subject key: %w", err)
	}
	return key, nil
}

// ForgetSubject deletes subject's key and reports whether there was one. The old row
// version stays in the table's pages until (auto)vacuum reclaims it, and in the WAL and any
// backups taken meanwhile.
func (s *Store) ForgetSubject(ctx context.Context, subject string) (bool, error) {
	if subject == "" {
		return false, fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM subject_keys WHERE subject = $1`, subject)
	if err != nil {
		return false, fmt.Errorf("postgres: forget subject: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// HasSubject reports whether subject has a key, without creating one.
func (s *Store) HasSubject(ctx context.Context, subject string) (bool, error) {
	if subject == "" {
		return false, fmt.Errorf("%w: empty subject", store.ErrInvalidArgument)
	}
	var has bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subject_keys WHERE subject = $1)`, subject).Scan(&has); err != nil {
		return false, fmt.Errorf("postgres: has subject: %w", err)
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
