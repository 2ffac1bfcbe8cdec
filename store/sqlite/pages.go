package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// Writes here go through the group commit like the other small writes: each runs in the
// write transaction (the lock is taken at BEGIN), so a read and the write that depends on it
// see no other writer in between, in this process or another on the same file.

const pageStateColumns = `page, fingerprint, doc, changed, since_us, checked_us`

// GetPageBaseline returns page's baseline, or store.ErrNotFound.
func (s *Store) GetPageBaseline(ctx context.Context, page string) (store.PageBaseline, error) {
	var b store.PageBaseline
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT page, fingerprint, doc, approved_by, reason, at_us FROM page_baselines
		WHERE page = ?`, page).Scan(&b.Page, &b.Fingerprint, &b.Doc, &b.ApprovedBy, &b.Reason, &at)
	if err != nil {
		return store.PageBaseline{}, notFound(err, fmt.Sprintf("page baseline %q", page))
	}
	b.At = fromUS(at)
	return b, nil
}

// SetPageBaseline makes b its page's baseline and, in the same transaction, the page's state
// b's fingerprint, unchanged, since b.At; the state's checked time stays.
func (s *Store) SetPageBaseline(ctx context.Context, b store.PageBaseline) error {
	if err := checkPage(b.Page, b.Fingerprint, b.Doc); err != nil {
		return err
	}
	doc := docOrEmpty(b.Doc)
	return s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO page_baselines (page, fingerprint, doc, approved_by, reason, at_us)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (page) DO UPDATE SET fingerprint = excluded.fingerprint, doc = excluded.doc,
				approved_by = excluded.approved_by, reason = excluded.reason, at_us = excluded.at_us`,
			b.Page, b.Fingerprint, doc, b.ApprovedBy, b.Reason, us(b.At)); err != nil {
			return fmt.Errorf("sqlite: set page baseline: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO page_states (page, fingerprint, doc, changed, since_us)
			VALUES (?, ?, ?, 0, ?)
			ON CONFLICT (page) DO UPDATE SET fingerprint = excluded.fingerprint, doc = excluded.doc,
				changed = 0, since_us = excluded.since_us`,
			b.Page, b.Fingerprint, doc, us(b.At)); err != nil {
			return fmt.Errorf("sqlite: set page baseline: state: %w", err)
		}
		return nil
	})
}

// GetPageState returns page's state, or store.ErrNotFound.
func (s *Store) GetPageState(ctx context.Context, page string) (store.PageState, error) {
	st, err := scanPageState(s.db.QueryRowContext(ctx, `SELECT `+pageStateColumns+` FROM page_states WHERE page = ?`, page))
	if err != nil {
		return store.PageState{}, notFound(err, fmt.Sprintf("page state %q", page))
	}
	return st, nil
}

// ObservePage records st when its fingerprint or Changed differs from the stored state, and
// stores st.CheckedAt (when set) either way. The read and the write share the write
// transaction, so of observers racing with one new fingerprint only the first writes.
func (s *Store) ObservePage(ctx context.Context, st store.PageState) (bool, store.PageState, error) {
	if err := checkPage(st.Page, st.Fingerprint, st.Doc); err != nil {
		return false, store.PageState{}, err
	}
	var wrote bool
	var prev store.PageState
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		wrote, prev = false, store.PageState{}
		old, err := scanPageState(tx.QueryRowContext(ctx, `SELECT `+pageStateColumns+` FROM page_states WHERE page = ?`, st.Page))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO page_states (`+pageStateColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
				st.Page, st.Fingerprint, docOrEmpty(st.Doc), st.Changed, us(st.Since), us(st.CheckedAt)); err != nil {
				return fmt.Errorf("sqlite: observe page: %w", err)
			}
			wrote = true
			return nil
		case err != nil:
			return fmt.Errorf("sqlite: observe page: %w", err)
		}
		prev = old
		if old.Fingerprint == st.Fingerprint && old.Changed == st.Changed {
			if st.CheckedAt.IsZero() {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `UPDATE page_states SET checked_us = ? WHERE page = ?`, us(st.CheckedAt), st.Page); err != nil {
				return fmt.Errorf("sqlite: observe page: %w", err)
			}
			return nil
		}
		// checked_us stays when st.CheckedAt is zero (0 in the column).
		if _, err := tx.ExecContext(ctx, `UPDATE page_states SET fingerprint = ?, doc = ?, changed = ?, since_us = ?,
			checked_us = CASE WHEN ? = 0 THEN checked_us ELSE ? END WHERE page = ?`,
			st.Fingerprint, docOrEmpty(st.Doc), st.Changed, us(st.Since), us(st.CheckedAt), us(st.CheckedAt), st.Page); err != nil {
			return fmt.Errorf("sqlite: observe page: %w", err)
		}
		wrote = true
		return nil
	})
	if err != nil {
		return false, store.PageState{}, err
	}
	return wrote, prev, nil
}

// ListPageStates returns every page's state, by page (byte order).
func (s *Store) ListPageStates(ctx context.Context) ([]store.PageState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+pageStateColumns+` FROM page_states ORDER BY page`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list page states: %w", err)
	}
	defer rows.Close()
	var out []store.PageState
	for rows.Next() {
		st, err := scanPageState(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list page states: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list page states: %w", err)
	}
	return out, nil
}

// ClaimLease gives holder the lease name until until when it is free, expired at now or
// holder's already, in one upsert, and reports whether holder has it.
func (s *Store) ClaimLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := checkLease(name, holder, now, until); err != nil {
		return false, err
	}
	var held bool
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, until_us) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_us = excluded.until_us
			WHERE leases.until_us <= ? OR leases.holder = excluded.holder`,
			name, holder, us(until), us(now))
		if err != nil {
			return fmt.Errorf("sqlite: claim lease %q: %w", name, err)
		}
		held = rowsAffected(res) == 1
		return nil
	})
	return held, err
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

func scanPageState(row rowScanner) (store.PageState, error) {
	var st store.PageState
	var since, checked int64
	if err := row.Scan(&st.Page, &st.Fingerprint, &st.Doc, &st.Changed, &since, &checked); err != nil {
		return store.PageState{}, err
	}
	st.Since, st.CheckedAt = fromUS(since), fromUS(checked)
	return st, nil
}

// checkPage refuses what ObservePage and SetPageBaseline must not store.
func checkPage(page, fingerprint string, doc []byte) error {
	switch {
	case page == "":
		return fmt.Errorf("%w: empty page", store.ErrInvalidArgument)
	case fingerprint == "":
		return fmt.Errorf("%w: page %q: empty fingerprint", store.ErrInvalidArgument, page)
	case len(doc) > store.MaxPageDoc:
		return fmt.Errorf("%w: page %q: document of %d bytes, at most %d", store.ErrInvalidArgument, page, len(doc), store.MaxPageDoc)
	}
	return nil
}

// checkLease refuses an unnamed lease or holder, and a lease that would end before it starts
// at the stored (microsecond) precision.
func checkLease(name, holder string, now, until time.Time) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty lease name", store.ErrInvalidArgument)
	case holder == "":
		return fmt.Errorf("%w: lease %q: empty holder", store.ErrInvalidArgument, name)
	case !until.Truncate(time.Microsecond).After(now.Truncate(time.Microsecond)):
		return fmt.Errorf("%w: lease %q: until %s is not after now %s", store.ErrInvalidArgument, name,
			until.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// docOrEmpty stores a nil document as an empty one; the column is NOT NULL.
func docOrEmpty(doc []byte) []byte {
	if doc == nil {
		return []byte{}
	}
	return doc
}
