package vault

// CurrentToken is the token the client sends now, for tests that check which one it uses.
func (c *Client) CurrentToken() string { return c.api.Token() }
