package report

import "time"

// paymentPageRow is one payment page as the page shows it: its evidence and the marks that
// decide the two requirements, so the reader sees why without reading the rules.
type paymentPageRow struct {
	PageEvidence
	// Enforced: the browser runs only the inventory's scripts.
	Enforced bool
	// StaleCheck: a configured page's last check is more than 7 days before the end of the
	// period.
	StaleCheck bool
	// Scripts carry what is missing from each inventory entry.
	Scripts []inventoryRow
}

// inventoryRow is one inventory script with what it lacks.
type inventoryRow struct {
	InventoryScript
	NoJustification, NoAuthoriser bool
}

// paymentPageRows lays out the report's payment pages, in the evidence's order.
func paymentPageRows(pages []PageEvidence, to time.Time) []paymentPageRow {
	rows := make([]paymentPageRow, 0, len(pages))
	for _, p := range pages {
		row := paymentPageRow{PageEvidence: p, Enforced: p.Mode == pageEnforce,
			StaleCheck: p.Configured && p.Checks.Last != nil && p.Checks.Last.Before(to.Add(-pageCheckMaxAge))}
		for _, s := range p.Scripts {
			row.Scripts = append(row.Scripts, inventoryRow{InventoryScript: s,
				NoJustification: isBlank(s.Justification), NoAuthoriser: isBlank(s.AuthorisedBy)})
		}
		rows = append(rows, row)
	}
	return rows
}
