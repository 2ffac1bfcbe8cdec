package store

import (
	"bytes"
	"fmt"
)

// CheckContinues reports whether recs continue the chain at head: sequence numbers
// contiguous from head.Seq+1, the first PrevHash equal to the head's hash and each next
// PrevHash equal to the previous Hash. Backends call it inside AppendAudit.
func CheckContinues(head Head, recs []AuditRecord) error {
	prevSeq, prevHash := head.Seq, head.Hash
	for _, r := range recs {
		if r.Seq != prevSeq+1 {
			return fmt.Errorf("%w: seq %d after %d", ErrChainConflict, r.Seq, prevSeq)
		}
		if !bytes.Equal(r.PrevHash, prevHash) {
			return fmt.Errorf("%w: seq %d does not link to the head", ErrChainConflict, r.Seq)
		}
		if len(r.Hash) == 0 {
			return fmt.Errorf("%w: seq %d has no hash", ErrChainConflict, r.Seq)
		}
		prevSeq, prevHash = r.Seq, r.Hash
	}
	return nil
}
