package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwall/tokenwall/store"
)

const pageStateColumns = `page, fingerprint, doc, changed, since, checked_at`

// GetPageBaseline returns page's baseline, or store.ErrNotFound.
func (s *Store) GetPageBaseline(ctx context.Context, page string) (store.PageBaseline, error) {
	var b store.PageBaseline
	err := s.pool.QueryRow(ctx, `SELECT page, fingerprint, doc, approved_by, reason, at FROM page_baselines
		WHERE page = $1`, page).Scan(&b.Page, &b.Fingerprint, &b.Doc, &b.ApprovedBy, &b.Reason, &b.At)
	if err != nil {
		return store.PageBaseline{}, notFound(err, fmt.Sprintf("page baseline %q", page))
	}
	b.At = b.At.UTC()
	return b, nil
}

// SetPageBaseline makes b its page's baseline and, in the same transaction, the page's state
// b's fingerprint, unchanged, since b.At; the state's checked_at stays.
func (s *Store) SetPageBaseline(ctx context.Context, b store.PageBaseline) error {
	if err := checkPage(b.Page, b.Fingerprint, b.Doc); err != nil {
		return err
	}
	doc := docOrEmpty(b.Doc)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: set page baseline: %w", err)
	}
	defer rollback(ctx, tx)
	if _, err := tx.Exec(ctx, `INSERT INTO page_baselines (page, fingerprint, doc, approved_by, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (page) DO UPDATE SET fingerprint = excluded.fingerprint, doc = excluded.doc,
			approved_by = excluded.approved_by, reason = excluded.reason, at = excluded.at`,
		b.Page, b.Fingerprint, doc, b.ApprovedBy, b.Reason, b.At); err != nil {
		return fmt.Errorf("postgres: set page baseline: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO page_states (page, fingerprint, doc, changed, since)
		VALUES ($1, $2, $3, false, $4)
		ON CONFLICT (page) DO UPDATE SET fingerprint = excluded.fingerprint, doc = excluded.doc,
			changed = false, since = excluded.since`,
		b.Page, b.Fingerprint, doc, b.At); err != nil {
		return fmt.Errorf("postgres: set page baseline: state: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: set page baseline: %w", err)
	}
	return nil
}

// GetPageState returns page's state, or store.ErrNotFound.
func (s *Store) GetPageState(ctx context.Context, page string) (store.PageState, error) {
	st, err := scanPageState(s.pool.QueryRow(ctx, `SELECT `+pageStateColumns+` FROM page_states WHERE page = $1`, page))
	if err != nil {
		return store.PageState{}, notFound(err, fmt.Sprintf("page state %q", page))
	}
	return st, nil
}

// ObservePage records st when its fingerprint or Changed differs from the stored state, and
// stores st.CheckedAt (when set) either way. A first observation is an insert that does
// nothing on conflict: racing inserters wait for the first and then find its row. Otherwise
// the row is locked FOR UPDATE before it is compared, so replicas seeing one new fingerprint
// take turns and each after the first reads the fingerprint the first stored.
func (s *Store) ObservePage(ctx context.Context, st store.PageState) (bool, store.PageState, error) {
	if err := checkPage(st.Page, st.Fingerprint, st.Doc); err != nil {
		return false, store.PageState{}, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, store.PageState{}, fmt.Errorf("postgres: observe page: %w", err)
	}
	defer rollback(ctx, tx)
	tag, err := tx.Exec(ctx, `INSERT INTO page_states (`+pageStateColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (page) DO NOTHING`,
		st.Page, st.Fingerprint, docOrEmpty(st.Doc), st.Changed, st.Since, nullTime(st.CheckedAt))
	if err != nil {
		return false, store.PageState{}, fmt.Errorf("postgres: observe page: %w", err)
	}
	wrote := tag.RowsAffected() == 1
	var prev store.PageState
	if !wrote {
		prev, err = scanPageState(tx.QueryRow(ctx, `SELECT `+pageStateColumns+` FROM page_states WHERE page = $1 FOR UPDATE`, st.Page))
		if err != nil {
			return false, store.PageState{}, fmt.Errorf("postgres: observe page: %w", err)
		}
		wrote = prev.Fingerprint != st.Fingerprint || prev.Changed != st.Changed
		if wrote {
			_, err = tx.Exec(ctx, `UPDATE page_states SET fingerprint = $2, doc = $3, changed = $4, since = $5,
				checked_at = coalesce($6, checked_at) WHERE page = $1`,
				st.Page, st.Fingerprint, docOrEmpty(st.Doc), st.Changed, st.Since, nullTime(st.CheckedAt))
		} else if !st.CheckedAt.IsZero() {
			_, err = tx.Exec(ctx, `UPDATE page_states SET checked_at = $2 WHERE page = $1`, st.Page, st.CheckedAt)
		}
		if err != nil {
			return false, store.PageState{}, fmt.Errorf("postgres: observe page: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, store.PageState{}, fmt.Errorf("postgres: observe page: %w", err)
	}
	return wrote, prev, nil
}

// ListPageStates returns every page's state, by page (byte order).
func (s *Store) ListPageStates(ctx context.Context) ([]store.PageState, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+pageStateColumns+` FROM page_states ORDER BY page`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list page states: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.PageState, error) { return scanPageState(row) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list page states: %w", err)
	}
	return out, nil
}

// ClaimLease gives holder the lease name until until when it is free, expired at now or
// holder's already, and reports whether holder has it. It is one upsert: a racing claimer
// waits on the row the first inserts or locks, then evaluates the condition against it.
func (s *Store) ClaimLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := checkLease(name, holder, now, until); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE leases.until <= $4 OR leases.holder = excluded.holder`,
		name, holder, until, now)
	if err != nil {
		return false, fmt.Errorf("postgres: claim lease %q: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

func scanPageState(row pgx.Row) (store.PageState, error) {
	var st store.PageState
	var checked *time.Time
	if err := row.Scan(&st.Page, &st.Fingerprint, &st.Doc, &st.Changed, &st.Since, &checked); err != nil {
		return store.PageState{}, err
	}
	st.Since, st.CheckedAt = st.Since.UTC(), fromNull(checked)
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
