package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"strconv"

	"github.com/tokenwall/tokenwall/store"
)

// recordHash is SHA-256 over the previous hash and the record's fields, each
// length-prefixed, so that no two different records encode alike. A record that names its
// key version (KeyVersion > 0) ends with that version, so the chain covers it and the MAC,
// which is over this hash, binds the record to the one key version that made it. A record
// without one (0: written before versions were recorded) encodes as it always did, so trails
// written then still verify; the two encodings differ in length and so never collide.
func recordHash(r store.AuditRecord) []byte {
	return hashInto(sha256.New(), r)
}

// hashInto computes recordHash with h, which it resets first (Verify reuses one hasher).
func hashInto(h hash.Hash, r store.AuditRecord) []byte {
	h.Reset()
	var b [8]byte
	field := func(p []byte) {
		binary.BigEndian.PutUint32(b[:4], uint32(len(p)))
		h.Write(b[:4])
		h.Write(p)
	}
	field(r.PrevHash)
	binary.BigEndian.PutUint64(b[:], uint64(r.Seq))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(r.Time.UnixMicro()))
	h.Write(b[:])
	for _, s := range []string{r.Actor, r.Event, r.Outcome, r.Reason, r.SourceIP, r.RequestID, r.Resource, r.Details} {
		field([]byte(s))
	}
	if r.KeyVersion != 0 {
		binary.BigEndian.PutUint64(b[:], uint64(r.KeyVersion))
		h.Write(b[:])
	}
	return h.Sum(nil)
}

// recordMAC is HMAC-SHA256 of the hash with the audit key from Vault: recomputing hashes
// after an edit is not enough to forge a record without that key. The hash covers the key
// version, so a record cannot claim a version other than the one that MACed it.
func recordMAC(key, hash []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(hash)
	return m.Sum(nil)
}

// checkpointMessage is what Vault signs for a checkpoint.
func checkpointMessage(seq int64, hash []byte) []byte {
	return []byte("tokenwall-audit-checkpoint:v1:" + strconv.FormatInt(seq, 10) + ":" + fmt.Sprintf("%x", hash))
}
