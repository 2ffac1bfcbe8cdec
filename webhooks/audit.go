package webhooks

import (
	"context"

	"github.com/tokenwall/tokenwall/audit"
)

// Recorder writes an audit event and returns once it is durable; *audit.Trail is the real one.
type Recorder interface {
	Record(ctx context.Context, ev audit.Event) error
}

// Actors of the webhook audit events. A received event was authenticated by the gateway's
// signature; a rejected one was not, so nobody is named.
const (
	ActorGateway   = "gateway:stripe"
	ActorAnonymous = "anonymous"
)

// Detail keys of the webhook audit events. Values are plain facts, never the payload.
const (
	DetailType       = "type"
	DetailAPIVersion = "api_version"
	DetailDuplicate  = "duplicate"
	DetailAttempts   = "attempts"
	DetailStatus     = "status"
	// DetailOwner names the replica that made a delivery attempt.
	DetailOwner = "owner"
)
