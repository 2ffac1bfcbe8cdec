package sqlite_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
)

// TestForgottenKeyLeavesTheFile: after ForgetSubject and a checkpoint, the key's bytes are
// nowhere in the database file, although the page that held it is still in use (other
// subjects' keys). Without secure_delete SQLite leaves deleted cells in place.
func TestForgottenKeyLeavesTheFile(t *testing.T) {
	ctx := context.Background()
	p := dbPath(t)
	s := open(t, p)
	for i := range 5 {
		if _, err := s.SubjectKey(ctx, fmt.Sprintf("cus_neighbour_%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	key, err := s.SubjectKey(ctx, "cus_erased")
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func() {
		t.Helper()
		if err := s.RawExec(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint()
	if b, err := os.ReadFile(p); err != nil || !bytes.Contains(b, key) {
		t.Fatalf("the key is not in the file before it is forgotten (%v): the test checks nothing", err)
	}
	if ok, err := s.ForgetSubject(ctx, "cus_erased"); err != nil || !ok {
		t.Fatalf("ForgetSubject = %v, %v", ok, err)
	}
	checkpoint()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(p + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, key) {
			t.Errorf("the forgotten key is still in %s", p+suffix)
		}
	}
}
