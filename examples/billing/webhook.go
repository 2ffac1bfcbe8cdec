package billing

import (
	"io"
	"net/http"
)

// handleWebhook receives the gateway events tokenwall delivers. It only verifies and records
// them; acting on an event is left to the feature that needs it.
func (a *App) handleWebhook(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.readSigned(w, r); !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "received")
}
