package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// inactiveKeyDays is PCI DSS 8.2.6's limit: an account unused for 90 days is removed or
// disabled.
const inactiveKeyDays = 90

// Evaluate decides each requirement from the report's evidence; nothing is constant. Each
// status comes with the evidence lines that decided it.
func Evaluate(r Report, cryptoperiodDays int) []Requirement {
	ev := r.Evidence
	atRest := atRestFindings(ev.DataAtRest)
	scanned := len(ev.DataAtRest) > 0 && !scanErrors(ev.DataAtRest)
	return []Requirement{
		req331(ev, atRest, scanned),
		req341(ev, atRest, scanned),
		req351(ev, atRest, scanned),
		req3511(atRest, scanned),
		req36(ev, cryptoperiodDays),
		req421(ev.TLS),
		req643(ev.Pages),
		req72(ev.Keys),
		req82(ev.Keys, r.GeneratedAt),
		req1021(r),
		req1022(r),
		req103(ev.Chain),
		req1051(ev.Retention),
		req1161(ev.Pages, r.To),
	}
}

// atRestFindings sums the scans' findings by kind.
func atRestFindings(scans []ScanEvidence) map[string]int {
	m := map[string]int{}
	for _, s := range scans {
		for k, n := range s.ByKind {
			m[k] += n
		}
	}
	return m
}

func scanErrors(scans []ScanEvidence) bool {
	for _, s := range scans {
		if s.Error != "" {
			return true
		}
	}
	return false
}

func scanLines(scans []ScanEvidence) []string {
	var out []string
	for _, s := range scans {
		if s.Error != "" {
			out = append(out, fmt.Sprintf("scan of the %s (%s) failed: %s", s.What, s.Path, s.Error))
			continue
		}
		out = append(out, fmt.Sprintf("scan of the %s (%s): %d files, %d bytes, %d findings%s", s.What, s.Path, s.Files, s.Bytes, s.Findings, kinds(s.ByKind)))
	}
	return out
}

func kinds(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func status(ok bool) string {
	if ok {
		return Pass
	}
	return Fail
}

func req331(ev Evidence, f map[string]int, scanned bool) Requirement {
	sad := f["cvc"] + f["track"] + f["pin"]
	lines := append(scanLines(ev.DataAtRest), fmt.Sprintf("sensitive authentication data found at rest: %d (CVC %d, track data %d, PIN %d)", sad, f["cvc"], f["track"], f["pin"]))
	return Requirement{ID: "3.3.1", Title: "Sensitive authentication data is not retained after authorization",
		Status: status(scanned && sad == 0), Evidence: lines}
}

func req341(ev Evidence, f map[string]int, scanned bool) Requirement {
	masked := ev.Logging.CardMask == "brand_last4" || ev.Logging.CardMask == "first6_last4"
	lines := []string{fmt.Sprintf("log card mask: %s (at most the first six and last four digits are shown)", orUnknown(ev.Logging.CardMask)),
		fmt.Sprintf("full card numbers found in the logs and the database: %d", f["card"])}
	return Requirement{ID: "3.4.1", Title: "PAN is masked when displayed",
		Status: status(scanned && masked && f["card"] == 0), Evidence: lines}
}

func req351(ev Evidence, f map[string]int, scanned bool) Requirement {
	lines := append(scanLines(ev.DataAtRest), fmt.Sprintf("card numbers found where tokenwall stores data: %d", f["card"]))
	if !scanned {
		lines = append(lines, "the data at rest could not be scanned")
	}
	return Requirement{ID: "3.5.1", Title: "PAN is rendered unreadable anywhere it is stored",
		Status: status(scanned && f["card"] == 0), Evidence: lines}
}

func req3511(f map[string]int, scanned bool) Requirement {
	if scanned && f["card"] == 0 {
		return Requirement{ID: "3.5.1.1", Title: "Hashes used to render PAN unreadable are keyed cryptographic hashes",
			Status: NA, Evidence: []string{"no PAN is stored, hashed or otherwise: cards are tokenized at the gateway and the scan found none"}}
	}
	return Requirement{ID: "3.5.1.1", Title: "Hashes used to render PAN unreadable are keyed cryptographic hashes",
		Status: Fail, Evidence: []string{"card numbers were found at rest (or could not be looked for), so their protection cannot be shown"}}
}

func req36(ev Evidence, cryptoperiodDays int) Requirement {
	ok := len(ev.Secrets) > 0
	var lines []string
	for _, s := range ev.Secrets {
		if s.Error != "" {
			ok = false
			lines = append(lines, fmt.Sprintf("%s (%s): could not be read: %s", s.Name, s.Path, s.Error))
			continue
		}
		state := "within"
		if s.Expired {
			ok, state = false, "PAST"
		}
		lines = append(lines, fmt.Sprintf("%s (%s): version %d, %d days old, %s its %d-day cryptoperiod", s.Name, s.Path, s.Version, s.AgeDays, state, s.CryptoperiodDays))
	}
	t := ev.TransitKey
	if t.Error != "" || t.LatestVersion == 0 {
		ok = false
		lines = append(lines, fmt.Sprintf("transit key %s: could not be read: %s", t.Name, t.Error))
	} else {
		state := "within"
		if cryptoperiodDays > 0 && t.AgeDays > cryptoperiodDays {
			ok, state = false, "PAST"
		}
		lines = append(lines, fmt.Sprintf("transit key %s: version %d, last rotated %s (%d days ago), %s the %d-day cryptoperiod; its private key never leaves Vault",
			t.Name, t.LatestVersion, t.RotatedAt.Format(time.DateOnly), t.AgeDays, state, cryptoperiodDays))
	}
	return Requirement{ID: "3.6/3.7", Title: "Cryptographic keys are protected and managed through their lifecycle", Status: status(ok), Evidence: lines}
}

func req421(t TLSEvidence) Requirement {
	if t.Error != "" {
		return Requirement{ID: "4.2.1", Title: "Strong cryptography protects PAN in transit", Status: Fail,
			Evidence: []string{fmt.Sprintf("the listener %s could not be probed: %s", t.Addr, t.Error)}}
	}
	ok := len(t.Versions) > 0
	var lines []string
	for _, v := range t.Versions {
		weak := v.Version == "TLS 1.0" || v.Version == "TLS 1.1"
		if weak && v.Accepted {
			ok = false
		}
		lines = append(lines, fmt.Sprintf("%s: %s", v.Version, map[bool]string{true: "accepted", false: "refused"}[v.Accepted]))
	}
	var accepted []string
	for _, s := range t.Suites {
		if s.Accepted {
			accepted = append(accepted, s.Name)
			if !s.AEAD {
				ok = false
				lines = append(lines, "non-AEAD suite accepted: "+s.Name)
			}
		}
	}
	lines = append(lines, fmt.Sprintf("TLS 1.2 suites accepted (%d): %s", len(accepted), strings.Join(accepted, ", ")))
	return Requirement{ID: "4.2.1", Title: "Strong cryptography protects PAN in transit", Status: status(ok), Evidence: append([]string{"probed " + t.Addr}, lines...)}
}

func req72(keys []KeyEvidence) Requirement {
	ok := true
	var lines []string
	active := 0
	for _, k := range keys {
		if k.RevokedAt != nil {
			continue
		}
		active++
		lines = append(lines, fmt.Sprintf("key %s (%s): scopes %s; %d calls, %d refusals in the period", k.ID, orUnknown(k.Name), strings.Join(k.Scopes, ","), k.Calls, k.Refusals))
		if len(k.Scopes) == 6 {
			ok = false
			lines = append(lines, fmt.Sprintf("key %s holds every scope: least privilege is not shown", k.ID))
		}
	}
	if active == 0 {
		return Requirement{ID: "7.2", Title: "Access is assigned by need to know and least privilege", Status: NA,
			Evidence: []string{"no active API key: nobody can call the API"}}
	}
	return Requirement{ID: "7.2", Title: "Access is assigned by need to know and least privilege", Status: status(ok), Evidence: lines}
}

func req82(keys []KeyEvidence, now time.Time) Requirement {
	ok := true
	var lines []string
	for _, k := range keys {
		if k.RevokedAt != nil {
			lines = append(lines, fmt.Sprintf("key %s: revoked %s", k.ID, k.RevokedAt.Format(time.DateOnly)))
			continue
		}
		last := k.CreatedAt
		use := "never used"
		if k.LastUsed != nil {
			last, use = *k.LastUsed, "last used "+k.LastUsed.Format(time.DateOnly)
		}
		idle := int(now.Sub(last) / (24 * time.Hour))
		if idle > inactiveKeyDays {
			ok = false
			use += fmt.Sprintf(": idle %d days, more than %d (8.2.6)", idle, inactiveKeyDays)
		}
		lines = append(lines, fmt.Sprintf("key %s: unique id, secret kept only as a SHA-256 hash in Vault, created %s, %s", k.ID, k.CreatedAt.Format(time.DateOnly), use))
	}
	if len(keys) == 0 {
		return Requirement{ID: "8.2/8.6", Title: "Users and system accounts are identified and authenticated", Status: NA,
			Evidence: []string{"no API key exists"}}
	}
	return Requirement{ID: "8.2/8.6", Title: "Users and system accounts are identified and authenticated", Status: status(ok), Evidence: lines}
}

func req1021(r Report) Requirement {
	lines := []string{fmt.Sprintf("%d audit records in the period; %d starts of tokenwall", r.Summary.Records, r.Summary.Startups)}
	return Requirement{ID: "10.2.1", Title: "Audit logs are enabled and active", Status: status(r.Summary.Records > 0), Evidence: lines}
}

func req1022(r Report) Requirement {
	c := r.Evidence.Chain
	ok := r.Summary.Records > 0 && c.OK
	return Requirement{ID: "10.2.2", Title: "Audit logs record the details of each event", Status: status(ok), Evidence: []string{
		"each record holds who (actor), what (event), when (UTC time and sequence), the outcome and its reason, where from (source IP, request id) and the resource",
		fmt.Sprintf("%d records in the period, every one MACed and chained (verified: %v)", r.Summary.Records, c.OK),
	}}
}

func req103(c ChainEvidence) Requirement {
	lines := []string{fmt.Sprintf("records %d..%d (%d), %d signed checkpoints", c.From, c.To, c.Records, c.Checkpoints)}
	if !c.OK {
		lines = append(lines, fmt.Sprintf("verification FAILED at sequence %d: %s", c.FirstBad, c.Problem))
	} else if c.Problem != "" {
		lines = append(lines, c.Problem)
	}
	return Requirement{ID: "10.3", Title: "Audit logs are protected from destruction and unauthorized modification", Status: status(c.OK), Evidence: lines}
}

func req1051(ret RetentionEvidence) Requirement {
	lines := []string{fmt.Sprintf("retention configured: %d days (at least 365 required)", ret.ConfiguredDays)}
	if !ret.OldestRecord.IsZero() {
		lines = append(lines, fmt.Sprintf("oldest record kept: %s (%d days old)", ret.OldestRecord.Format(time.DateOnly), ret.OldestAgeDays))
	}
	return Requirement{ID: "10.5.1", Title: "Audit log history is retained for at least 12 months", Status: status(ret.ConfiguredDays >= 365), Evidence: lines}
}
